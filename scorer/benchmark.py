"""Scoring a benchmark folder: ``<style>/<idx:05d>.<ext>`` for the four styles.

Images are decoded and preprocessed in a small thread pool, overlapped with the model; the
statistics are the official ones (:mod:`scorer.protocol`). Missing images are reported and
recorded as ``None``, never silently dropped; unreadable ones are reported with their reason
and recorded as ``None`` too.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .errors import BenchmarkLayoutError, HPSError
from .model import HPSScorer
from .prompts import PromptSets
from .protocol import (
    IMAGE_EXTENSIONS,
    STYLES,
    StyleStats,
    averaged,
    parse_image_stem,
    style_stats,
)
from .textcache import warm_text_cache


@dataclass(frozen=True)
class Item:
    style: str
    index: int
    prompt: str
    path: Path


@dataclass
class BenchmarkResult:
    version: str
    checkpoint_sha256: str
    precision: str
    styles: dict[str, StyleStats]
    averaged: float | None
    scores: dict[str, list[float | None]]
    missing: dict[str, list[int]] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)  # path -> reason
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {
            "version": self.version,
            "checkpoint_sha256": self.checkpoint_sha256,
            "precision": self.precision,
            "styles": {s: st.as_dict() for s, st in self.styles.items()},
            "averaged": self.averaged,
            "scores": self.scores,
            "missing": {s: format_ranges(v) for s, v in self.missing.items() if v},
            "unreadable": self.unreadable,
        }

    def table(self) -> str:
        """The official table: mean and std per style, then Averaged."""
        lines = [f"{'style':<15}{'mean':>8}{'std':>9}{'n':>6}"]
        for style in STYLES:
            st = self.styles[style]
            mean = "n/a" if st.mean is None else f"{st.mean:.2f}"
            std = "n/a" if st.std is None else f"{st.std:.4f}"
            lines.append(f"{style:<15}{mean:>8}{std:>9}{st.n:>6}")
        avg = "n/a" if self.averaged is None else f"{self.averaged:.2f}"
        lines.append(f"{'Averaged':<15}{avg:>8}")
        return "\n".join(lines)


def format_ranges(indices: Sequence[int]) -> str:
    """[0, 1, 2, 5, 7, 8] -> '00000-00002, 00005, 00007-00008'."""
    parts: list[str] = []
    values = sorted(indices)
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        lo, hi = values[i], values[j]
        parts.append(f"{lo:05d}" if lo == hi else f"{lo:05d}-{hi:05d}")
        i = j + 1
    return ", ".join(parts)


def index_style_folder(folder: Path, count: int) -> tuple[dict[int, Path], list[str]]:
    """Map prompt index -> image file in one style folder; also return ignored file names.

    Two files for one index (``00001.jpg`` and ``00001.png``) is a layout error.
    """
    found: dict[int, Path] = {}
    ignored: list[str] = []
    if not folder.is_dir():
        return found, ignored
    for entry in sorted(folder.iterdir()):
        index, ext = parse_image_stem(entry.stem), entry.suffix.lower()
        if not (entry.is_file() and ext in IMAGE_EXTENSIONS) or index is None or index >= count:
            ignored.append(entry.name)
            continue
        if index in found:
            raise BenchmarkLayoutError(
                f"{folder}: two images for prompt {index:05d}: {found[index].name} and "
                f"{entry.name}; keep one"
            )
        found[index] = entry
    return found, ignored


def collect(folder: str | os.PathLike, prompts: PromptSets) -> tuple[list[Item], dict]:
    """Items to score in prompt order, and the missing indices per style."""
    root = Path(folder)
    if not root.is_dir():
        raise BenchmarkLayoutError(f"benchmark folder {str(root)!r} does not exist")
    present = [s for s in STYLES if (root / s).is_dir()]
    if not present:
        found = sorted(p.name for p in root.iterdir())[:10]
        raise BenchmarkLayoutError(
            f"{str(root)!r} has none of the style folders {', '.join(STYLES)} "
            f"(found: {', '.join(found) or 'nothing'})"
        )
    items: list[Item] = []
    missing: dict[str, list[int]] = {}
    for style in STYLES:
        style_prompts = prompts.styles[style]
        files, _ignored = index_style_folder(root / style, len(style_prompts))
        missing[style] = [i for i in range(len(style_prompts)) if i not in files]
        items.extend(Item(style, i, style_prompts[i], files[i]) for i in sorted(files))
    return items, missing


def _prefetch(
    fn: Callable[[Item], torch.Tensor | HPSError],
    batches: Sequence[list[Item]],
    workers: int,
    depth: int = 2,
) -> Iterator[tuple[list[Item], list]]:
    """Yield (batch, results) in order, decoding up to ``depth`` batches ahead."""
    if workers <= 0:
        for batch in batches:
            yield batch, [fn(item) for item in batch]
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hps-decode") as pool:
        pending: list[tuple[list[Item], list[Future]]] = []
        it = iter(batches)
        for batch in it:
            pending.append((batch, [pool.submit(fn, item) for item in batch]))
            if len(pending) > depth:
                done_batch, futures = pending.pop(0)
                yield done_batch, [f.result() for f in futures]
        for done_batch, futures in pending:
            yield done_batch, [f.result() for f in futures]


def default_workers() -> int:
    return min(4, os.cpu_count() or 1)


def run_benchmark(
    scorer: HPSScorer,
    folder: str | os.PathLike,
    prompts: PromptSets,
    *,
    batch_size: int | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    text_cache: str | os.PathLike | None = None,
) -> BenchmarkResult:
    """Score a benchmark folder with the official statistics.

    ``text_cache``: a folder (``<data_dir>/text_cache``) where the prompts' text embeddings
    are kept per checkpoint and precision (:mod:`scorer.textcache`); with it, a later run
    encodes only images.
    """
    t0 = time.perf_counter()
    batch_size = batch_size or scorer.batch_size
    workers = default_workers() if workers is None else workers
    items, missing = collect(folder, prompts)
    if text_cache is not None:
        warm_text_cache(scorer, [item.prompt for item in items], text_cache)
    scores: dict[str, list[float | None]] = {s: [None] * len(prompts.styles[s]) for s in STYLES}
    unreadable: dict[str, str] = {}

    def load(item: Item) -> torch.Tensor | HPSError:
        try:
            return scorer.preprocess(item.path, str(item.path), check_extension=True)
        except HPSError as exc:  # reported, recorded as None
            return exc

    batches = [items[i : i + batch_size] for i in range(0, len(items), batch_size)]
    done = 0
    for batch, results in _prefetch(load, batches, workers):
        good = [(item, t) for item, t in zip(batch, results) if isinstance(t, torch.Tensor)]
        for item, res in zip(batch, results):
            if not isinstance(res, torch.Tensor):
                unreadable[str(item.path)] = getattr(res, "reason", str(res))
        if good:
            values = scorer.score_pixels(
                torch.stack([t for _, t in good]), [item.prompt for item, _ in good]
            )
            for (item, _), value in zip(good, values):
                scores[item.style][item.index] = value
        done += len(batch)
        if progress:
            progress(done, len(items))
    stats = {s: style_stats(scores[s]) for s in STYLES}
    return BenchmarkResult(
        version=scorer.version,
        checkpoint_sha256=scorer.checkpoint_sha256,
        precision=scorer.precision,
        styles=stats,
        averaged=averaged({s: st.mean for s, st in stats.items()}),
        scores=scores,
        missing=missing,
        unreadable=unreadable,
        seconds=time.perf_counter() - t0,
    )
