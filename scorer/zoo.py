"""HPS versions as data, and checkpoint resolution.

Resolution order: an explicit path (setting ``HPS_CHECKPOINT`` or ``--checkpoint``), else a
download of the version's file from the hub model repo through huggingface_hub, which
honours its cache (``HF_HOME``, or ``HPS_HUB_CACHE``) and offline mode (``HF_HUB_OFFLINE=1``).
The LAION base weights are never downloaded: the HPS checkpoint holds the whole model.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import CheckpointError, ConfigError


@dataclass(frozen=True)
class HPSVersion:
    name: str
    filename: str
    repo_id: str = "xswu/HPSv2"
    arch: str = "ViT-H-14"
    # Published digest, where one is known; otherwise the digest is computed and recorded.
    sha256: str | None = None


VERSIONS: dict[str, HPSVersion] = {
    "v2.0": HPSVersion("v2.0", "HPS_v2_compressed.pt"),
    "v2.1": HPSVersion("v2.1", "HPS_v2.1_compressed.pt"),
}
DEFAULT_VERSION = "v2.1"


def get_version(name: str) -> HPSVersion:
    try:
        return VERSIONS[name]
    except KeyError:
        raise ConfigError(
            f"unknown HPS version {name!r}; known versions: {', '.join(VERSIONS)}"
        ) from None


def hub_file(
    repo_id: str, filename: str, *, repo_type: str | None = None, cache_dir: str | None = None
) -> Path:
    """A hub file through huggingface_hub. With ``cache_dir`` (``HPS_HUB_CACHE``, e.g. on a
    Space's persistent storage), a copy already in the library's default cache (where a
    Space's ``preload_from_hub`` puts files at build time) is used before any download."""
    from huggingface_hub import constants, hf_hub_download, try_to_load_from_cache

    if cache_dir is not None:
        preloaded = try_to_load_from_cache(
            repo_id, filename, cache_dir=constants.HF_HUB_CACHE, repo_type=repo_type
        )
        if isinstance(preloaded, str):
            return Path(preloaded)
    return Path(
        hf_hub_download(
            repo_id=repo_id, filename=filename, repo_type=repo_type, cache_dir=cache_dir
        )
    )


def resolve_checkpoint(
    version: str, checkpoint: str | os.PathLike | None = None, *, hub_cache: str | None = None
) -> Path:
    """Return a local path to the checkpoint of ``version``.

    Raises CheckpointError naming the version, what was tried and how to provide one.
    """
    spec = get_version(version)
    if checkpoint:
        path = Path(checkpoint).expanduser()
        if not path.is_file():
            raise CheckpointError(
                f"HPS {version}: checkpoint file {str(path)!r} (from HPS_CHECKPOINT or "
                "--checkpoint) does not exist or is not a file."
            )
        return path
    try:
        return hub_file(spec.repo_id, spec.filename, cache_dir=hub_cache)
    except Exception as exc:  # network, offline mode, missing file, auth ...
        raise CheckpointError(
            f"HPS {version}: no checkpoint available. Tried the hub download of "
            f"{spec.repo_id}/{spec.filename} ({type(exc).__name__}: {_first_line(exc)}). "
            f"Provide one: set HPS_CHECKPOINT=/path/to/{spec.filename} (or pass "
            "--checkpoint), or allow the hub download (unset HF_HUB_OFFLINE, or put the "
            "file in the huggingface_hub cache)."
        ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else ""


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file, cached in a sidecar keyed by size and mtime.

    Hashing a 2 GB checkpoint costs seconds; the sidecar (``<file>.sha256.json``, or none
    where the folder is read-only) makes later loads free.
    """
    path = Path(path)
    real = path.resolve()
    if real.parent.name == "blobs" and len(real.name) == 64:
        # huggingface_hub stores LFS files under their sha256, verified on download
        try:
            int(real.name, 16)
            return real.name
        except ValueError:
            pass
    stat = path.stat()
    key = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    sidecar = path.with_name(path.name + ".sha256.json")
    try:
        cached = json.loads(sidecar.read_text())
        if cached.get("key") == key and len(cached.get("sha256", "")) == 64:
            return cached["sha256"]
    except (OSError, ValueError):
        pass
    with open(path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    try:
        sidecar.write_text(json.dumps({"key": key, "sha256": digest}))
    except OSError:
        pass
    return digest
