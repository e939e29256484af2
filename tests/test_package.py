"""The project installs as a package: console scripts, version from package metadata."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from importlib import metadata

import pytest

from submissions.worker import software_versions
from tests.conftest import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
SCRIPTS = PYPROJECT["project"]["scripts"]


def test_pyproject_has_a_build_backend_and_the_four_layers():
    assert PYPROJECT["build-system"]["build-backend"] == "setuptools.build_meta"
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    assert {p.rstrip("*") for p in include} == {"scorer", "leaderboard", "submissions", "web"}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_console_scripts_point_at_callables(name):
    module, _, attr = SCRIPTS[name].partition(":")
    assert callable(getattr(importlib.import_module(module), attr))


def test_installed_version_is_recorded_with_results():
    try:
        installed = metadata.version("hps-leaderboard")
    except metadata.PackageNotFoundError:
        pytest.skip("the project is not installed here (make setup installs it)")
    assert installed == PYPROJECT["project"]["version"]
    assert software_versions()["hps_leaderboard"] == installed


@pytest.mark.parametrize("module", ["scorer", "submissions", "leaderboard"])
def test_python_m_forms_keep_working(module):
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout
