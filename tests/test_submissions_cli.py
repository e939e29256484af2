"""``python -m submissions``: submit (with --wait), status, user errors -> exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from submissions.cli import main
from tests.conftest import REPO, build_benchmark, zip_tree


@pytest.fixture
def env(monkeypatch, store_settings):
    s = store_settings
    values = {
        "HPS_DATA_DIR": s.data_dir,
        "HPS_DATABASE_URL": s.database_url,
        "HPS_CHECKPOINT": s.checkpoint,
        "HPS_ARCH": s.arch,
        "HPS_DEVICE": "cpu",
        "HPS_PRECISION": "fp32",
        "HPS_PROMPTS": s.prompts,
        "HPS_PROMPT_COUNT_CHECK": "false",
        "HPS_WORKER_POLL_S": "0.1",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_submit_wait_then_status(tmp_path, env, capsys):
    upload = zip_tree(build_benchmark(tmp_path / "bench", 12), tmp_path / "b.zip")
    code = main(["submit", str(upload), "--model", "Tiny", "--wait", "--link", "https://x.org"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Validation of b.zip: OK" in out and "submission #1: queued" in out
    assert "Averaged" in out and "anime" in out

    assert main(["status", "1", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["status"] == "done" and status["done"] == status["total"] == 48

    assert main(["status"]) == 0
    assert "Tiny" in capsys.readouterr().out

    # the same content again: the existing result, nothing queued
    assert main(["submit", str(upload), "--model", "Tiny", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["duplicate"] is True and again["submission_id"] == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_user_errors_exit_2_with_message(tmp_path, env, capsys):
    folder = build_benchmark(tmp_path / "bench", 12, skip={"anime": {0, 1}})
    assert main(["submit", str(folder), "--model", "Tiny"]) == 2
    err = capsys.readouterr().err
    assert "REJECTED" in err and "missing 00000-00001" in err and "--partial" in err

    assert main(["submit", str(tmp_path / "nope.zip"), "--model", "Tiny"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["status", "99"]) == 2
    assert "no submission #99" in capsys.readouterr().err

    assert main(["submit", str(folder), "--model", "Tiny", "--partial"]) == 0
    assert "submission #1: queued" in capsys.readouterr().out


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_module_entry_point(env):
    run = subprocess.run(
        [sys.executable, "-m", "submissions", "status"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0 and "no submissions" in run.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "submissions", "status"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "PATH": "/usr/bin:/bin", "HPS_WORKER_POLL_S": "soon"},
    )
    assert bad.returncode == 2 and "HPS_WORKER_POLL_S" in bad.stderr


def test_unusable_data_dir_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    monkeypatch.setenv("HPS_DATA_DIR", str(blocker / "data"))
    monkeypatch.delenv("HPS_DATABASE_URL", raising=False)
    assert main(["status"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: HPS_DATA_DIR=") and len(err.splitlines()) == 1
