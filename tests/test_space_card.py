"""The Space configuration block at the top of README.md, read with huggingface_hub's own card
classes and checked against the Spaces configuration reference, requirements.txt and the tree."""

from __future__ import annotations

import re
import tomllib

from huggingface_hub import SpaceCard, metadata_load

from scorer.zoo import VERSIONS

from .conftest import REPO

# From the hub's Spaces configuration reference (docs/hub/spaces-config-reference.md).
COLOURS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}
GPU_FLAVOURS = {
    "t4-small", "t4-medium", "l4x1", "l4x4", "l40sx1", "l40sx4", "l40sx8", "a10g-small",
    "a10g-large", "a10g-largex2", "a10g-largex4", "a100-large", "a100x4", "a100x8",
}  # fmt: skip
STORAGE = {"small", "medium", "large"}
KNOWN_KEYS = {
    "title", "emoji", "colorFrom", "colorTo", "sdk", "python_version", "sdk_version",
    "suggested_hardware", "suggested_storage", "app_file", "app_build_command", "app_port",
    "base_path", "fullWidth", "header", "short_description", "models", "datasets", "tags",
    "thumbnail", "pinned", "hf_oauth", "hf_oauth_scopes", "hf_oauth_expiration_minutes",
    "hf_oauth_authorized_org", "disable_embedding", "startup_duration_timeout",
    "custom_headers", "preload_from_hub", "license",
}  # fmt: skip

README = REPO / "README.md"


def pinned(name: str) -> str:
    for line in (REPO / "requirements.txt").read_text().splitlines():
        m = re.match(rf"^{re.escape(name)}==(\S+)", line.strip())
        if m:
            return m.group(1)
    raise AssertionError(f"{name} is not pinned in requirements.txt")


def test_readme_starts_with_a_space_card_the_hub_library_reads():
    assert README.read_text(encoding="utf-8").startswith("---\n")
    meta = metadata_load(README)
    card = SpaceCard.load(README)
    assert card.data.to_dict() == meta
    assert set(meta) <= KNOWN_KEYS, set(meta) - KNOWN_KEYS
    assert card.data.sdk == "gradio"
    assert card.data.title and meta["emoji"]
    assert {meta["colorFrom"], meta["colorTo"]} <= COLOURS
    # the rest renders on a code host as before: a heading right after the block
    assert card.text.lstrip().startswith("# ")


def test_space_card_matches_pins_python_and_tree():
    meta = metadata_load(README)
    assert meta["sdk_version"] == pinned("gradio")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    minimum = re.match(r">=\s*(\d+)\.(\d+)", project["requires-python"]).groups()
    assert isinstance(meta["python_version"], str)  # YAML would read 3.10 as 3.1
    assert tuple(int(x) for x in meta["python_version"].split(".")[:2]) >= tuple(
        int(x) for x in minimum
    )
    assert (REPO / meta["app_file"]).is_file()
    assert meta["license"] == project["license"].lower()


def test_space_card_suggests_a_gpu_storage_and_preloads_both_checkpoints():
    meta = metadata_load(README)
    assert meta["suggested_hardware"] in GPU_FLAVOURS
    assert meta["suggested_storage"] in STORAGE
    preloaded: dict[str, set[str]] = {}
    for item in meta["preload_from_hub"]:
        repo, _, files = item.partition(" ")
        preloaded.setdefault(repo, set()).update(f for f in files.split(",") if f)
    for spec in VERSIONS.values():
        assert spec.filename in preloaded.get(spec.repo_id, set()), spec
    # the README says what CPU costs
    assert "cpu-basic" in README.read_text(encoding="utf-8")
