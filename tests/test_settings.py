"""One declared settings table, strictly parsed, documented in the README."""

from __future__ import annotations

import re

import pytest

from scorer.errors import ConfigError
from scorer.settings import ScorerSettings
from tests.conftest import REPO
from web.settings import AppSettings


def test_defaults():
    s = AppSettings.from_env({})
    assert s.version == "v2.1" and s.precision == "auto" and s.worker is True
    assert s.resolved_database_url.startswith("sqlite:///") and s.resolved_database_url.endswith(
        "data/leaderboard.db"
    )


@pytest.mark.parametrize(
    "text,value", [("false", False), ("0", False), ("No", False), ("on", True)]
)
def test_booleans_parse_strictly(text, value):
    assert AppSettings.from_env({"HPS_WORKER": text}).worker is value


@pytest.mark.parametrize(
    "env",
    [{"HPS_WORKER": "maybe"}, {"HPS_VERSION": "v3"}, {"HPS_BATCH_SIZE": "0"}, {"HPS_PORT": "x"}],
)
def test_bad_values_name_the_variable(env):
    ((name, raw),) = env.items()
    with pytest.raises(ConfigError) as info:
        AppSettings.from_env(env)
    assert name in str(info.value) and raw in str(info.value)


def test_each_layer_declares_its_own_settings_once():
    """Every setting is declared by exactly one package, which is the layer that uses it."""
    owners = {s.field: s.package for s in AppSettings.declared()}
    assert owners["version"] == owners["max_image_pixels"] == "scorer"
    assert owners["database_url"] == "leaderboard"
    assert owners["max_zip_entries"] == owners["job_lease_s"] == "submissions"
    assert owners["host"] == owners["admin_token"] == "web"
    assert len(owners) == len(AppSettings.declared())
    # a lower layer's settings know nothing of the layers above it
    assert "host" not in {s.field for s in ScorerSettings.declared()}
    assert "database_url" not in {s.field for s in ScorerSettings.declared()}


def test_replace_ignores_unset_flags():
    s = AppSettings.from_env({"HPS_VERSION": "v2.0"})
    assert s.replace(version=None).version == "v2.0"
    assert s.replace(version="v2.1").version == "v2.1"


# Variables read by the test suite only, not by the app.
TEST_VARIABLES = {
    "HPS_TEST_POSTGRES_URL",
    "HPS_TEST_PROMPTS",
    "HPS_REQUIRE_BROWSER",
    "HPS_REQUIRE_POSTGRES",
}


def test_readme_documents_every_setting():
    readme = (REPO / "README.md").read_text()
    table = readme.split("<!-- settings:begin -->")[1].split("<!-- settings:end -->")[0]
    settings = AppSettings.declared()
    declared = {s.env for s in settings}
    assert re.findall(r"^\| `(HPS_[A-Z_]+)`", table, flags=re.M) == [s.env for s in settings]
    mentioned = set(re.findall(r"`(HPS_[A-Z_]+)`", readme))
    assert mentioned - declared - TEST_VARIABLES == set(), "README names settings that do not exist"


def test_checkpoint_belongs_to_its_version_only(tiny_checkpoint, tmp_path):
    from submissions.submit import expected_checkpoint_sha256

    s = ScorerSettings(version="v2.1", checkpoint=str(tiny_checkpoint[0]))
    assert s.for_version("v2.1") is s
    assert s.for_version("v2.0").checkpoint is None
    assert len(expected_checkpoint_sha256(s, "v2.1")) == 64
    # no v2.0 file on this machine: the worker will record it, never the v2.1 digest
    assert expected_checkpoint_sha256(s, "v2.0").startswith("pending:")
