"""Persisted text embeddings: the benchmark prompts encoded once per checkpoint and precision.

Scoring a benchmark submission needs the embeddings of up to 3,200 prompts. They depend only
on the checkpoint (its sha256), the architecture, the precision the text tower runs in
(``scorer.text_precision``: fp32 on CPU at both fp32 and bf16, which share one file) and the
device type, so they are computed once and kept under ``<data_dir>/text_cache/`` (one file
per checkpoint, text precision and device type); later submissions encode only their images.
The cached rows are the very tensors the in-memory cache holds (L2-normalised fp32), so
scores equal those of the plain path up to the float rounding that batch composition causes
anyway (the same prompt encoded in a different batch).

A file that is unreadable, or whose recorded key disagrees with the scorer's, is ignored
(and rewritten): the cache can only ever save work, never change a score.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch

log = logging.getLogger(__name__)

FORMAT = 1


def cache_key(scorer) -> dict:
    """What the embeddings depend on."""
    return {
        "format": FORMAT,
        "checkpoint_sha256": scorer.checkpoint_sha256,
        "arch": str(scorer.arch),
        "precision": scorer.text_precision,
        "device_type": scorer.device.type,
    }


def cache_path(folder: str | os.PathLike, scorer) -> Path:
    """The file for ``scorer``'s checkpoint, text precision and device type in ``folder``
    (by convention ``<data_dir>/text_cache``)."""
    key = cache_key(scorer)
    name = f"{key['checkpoint_sha256'][:32]}-{key['precision']}-{key['device_type']}.pt"
    return Path(folder).expanduser() / name


def _read(path: Path, key: dict) -> dict[str, torch.Tensor]:
    if not path.is_file():
        return {}
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
        if data.get("key") != key:
            log.warning("text cache %s was made for another model or precision: ignored", path)
            return {}
        prompts, rows = data["prompts"], data["embeddings"]
        if len(prompts) != rows.shape[0]:
            raise ValueError("prompts and embeddings differ in length")
        return dict(zip(prompts, rows))
    except Exception as exc:  # unreadable or malformed: recompute, never fail the scoring
        log.warning("text cache %s unreadable (%s): ignored", path, exc)
        return {}


def _write(path: Path, key: dict, table: dict[str, torch.Tensor]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    prompts = list(table)
    data = {"key": key, "prompts": prompts, "embeddings": torch.stack([table[p] for p in prompts])}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        torch.save(data, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_text_cache(scorer, prompts: Sequence[str], folder: str | os.PathLike) -> int:
    """Fill ``scorer``'s in-memory text cache with those ``prompts`` the file in ``folder``
    holds; returns how many it held."""
    table = _read(cache_path(folder, scorer), cache_key(scorer))
    known = [p for p in dict.fromkeys(prompts) if p in table]
    if known:
        scorer.set_text_embeddings(known, torch.stack([table[p] for p in known]))
    return len(known)


def save_text_cache(scorer, prompts: Sequence[str], folder: str | os.PathLike) -> int:
    """Add to the file in ``folder`` those ``prompts`` the scorer has encoded and the file
    lacks; returns how many were added. Never raises for an unwritable folder."""
    key = cache_key(scorer)
    path = cache_path(folder, scorer)
    table = _read(path, key)
    new = {p: row for p, row in scorer.cached_text_embeddings(prompts).items() if p not in table}
    if new:
        table.update(new)
        try:
            _write(path, key, table)
        except OSError as exc:
            log.warning("text cache %s not written (%s)", path, exc)
            return 0
    return len(new)


def warm_text_cache(scorer, prompts: Sequence[str], folder: str | os.PathLike) -> int:
    """Fill ``scorer``'s in-memory text cache with the embeddings of ``prompts``: from the
    file in ``folder`` where it has them, else encoded now and added to the file. Returns
    how many prompts were encoded."""
    load_text_cache(scorer, prompts, folder)
    missing = [p for p in dict.fromkeys(prompts) if not scorer.cached_text_embeddings([p])]
    if missing:
        scorer.encode_texts(missing)
        save_text_cache(scorer, missing, folder)
    return len(missing)
