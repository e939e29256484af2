"""A huggingface_hub cache made by the tests, laid out exactly as the library lays it out.

``<HF_HOME>/hub/datasets--<owner>--<name>/`` with ``refs/<branch>`` holding a commit sha,
``blobs/<sha256 of the content>`` and ``snapshots/<commit>/<path>`` as relative symbolic
links to the blobs. With ``HF_HUB_OFFLINE=1`` (set by conftest) the real library resolves
references, revisions and files from it; nothing here touches the network.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest
from huggingface_hub import constants

from scorer.protocol import STYLES


def commit_sha(label: str) -> str:
    """A made-up 40-hex commit id."""
    return hashlib.sha1(label.encode()).hexdigest()


class HubCache:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.hub = home / "hub"

    def repo_folder(self, repo_id: str) -> Path:
        return self.hub / ("datasets--" + repo_id.replace("/", "--"))

    def add_commit(
        self,
        repo_id: str,
        files: dict[str, bytes],
        *,
        commit: str | None = None,
        refs: tuple[str, ...] = ("main",),
    ) -> str:
        """Store ``files`` as snapshot ``commit`` of the dataset; ``refs`` point at it."""
        commit = commit or commit_sha(repo_id + json.dumps(sorted(files)))
        repo = self.repo_folder(repo_id)
        snapshot = repo / "snapshots" / commit
        for path, data in files.items():
            blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
            blob.parent.mkdir(parents=True, exist_ok=True)
            blob.write_bytes(data)
            link = snapshot / path
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(os.path.relpath(blob, link.parent))
        snapshot.mkdir(parents=True, exist_ok=True)
        for ref in refs:
            ref_file = repo / "refs" / ref
            ref_file.parent.mkdir(parents=True, exist_ok=True)
            ref_file.write_text(commit)  # the library writes the sha without a newline
        return commit


def use_hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HubCache:
    """An empty hub cache (the ``hub_cache`` fixture); ``HF_HOME`` points at it
    (``HF_HUB_CACHE`` = ``HF_HOME/hub``).

    huggingface_hub reads the two variables once, when it is imported (before any test
    runs), so the values it derived from them are set here as well."""
    home = tmp_path / "hf-home"
    (home / "hub").mkdir(parents=True)
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HOME", str(home))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(home / "hub"))
    assert constants.is_offline_mode()
    return HubCache(home)


def tar_bytes(files: dict[str, bytes], *, gz: bool = True, extra=()) -> bytes:
    """A tar (gzip-compressed by default) of ``files``; ``extra`` are raw TarInfo members
    (links, devices) added without data."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for info in extra:
            tf.addfile(info)
    return buf.getvalue()


def folder_files(folder: Path, prefix: str = "") -> dict[str, bytes]:
    """{prefix + relative posix path: bytes} of every file under ``folder``."""
    return {
        prefix + f.relative_to(folder).as_posix(): f.read_bytes()
        for f in sorted(folder.rglob("*"))
        if f.is_file()
    }


def prompt_files(prompts: dict[str, list[str]], folder: str = "benchmark") -> dict[str, bytes]:
    """``benchmark/<style>.json`` files, as the dataset ``zhwang/HPDv2`` holds them."""
    return {f"{folder}/{s}.json": json.dumps(prompts[s]).encode() for s in STYLES if s in prompts}
