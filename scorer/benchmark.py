"""Benchmark folders: ``<style>/<idx:05d>.<ext>`` for the four styles.

Finding the image of (style, index) in such a folder is written here once
(:func:`index_style_folder`, :func:`benchmark_images`, :func:`image_path`); a stored
submission folder has the same layout. :func:`run_benchmark` scores a folder with the shared
loop (:mod:`scorer.scoring`) and the official statistics (:mod:`scorer.protocol`). Missing
images are reported and recorded as ``None``, never silently dropped; unreadable ones are
reported with their reason and recorded as ``None`` too.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BenchmarkLayoutError
from .model import HPSScorer
from .prompts import PromptSets
from .protocol import (
    IMAGE_EXTENSIONS,
    STYLES,
    StyleStats,
    averaged,
    index_ranges,
    parse_image_stem,
    style_stats,
)
from .scoring import Item, score_items


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
            "missing": {s: index_ranges(v) for s, v in self.missing.items() if v},
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


def index_style_folder(folder: Path, count: int | None = None) -> tuple[dict[int, Path], list[str]]:
    """Map prompt index -> image file in one style folder (indices below ``count`` when
    given); also return ignored file names.

    Two files for one index (``00001.jpg`` and ``00001.png``) is a layout error.
    """
    found: dict[int, Path] = {}
    ignored: list[str] = []
    if not folder.is_dir():
        return found, ignored
    for entry in sorted(folder.iterdir()):
        index, ext = parse_image_stem(entry.stem), entry.suffix.lower()
        if not (entry.is_file() and ext in IMAGE_EXTENSIONS) or index is None:
            ignored.append(entry.name)
            continue
        if count is not None and index >= count:
            ignored.append(entry.name)
            continue
        if index in found:
            raise BenchmarkLayoutError(
                f"{folder}: two images for prompt {index:05d}: {found[index].name} and "
                f"{entry.name}; keep one"
            )
        found[index] = entry
    return found, ignored


def benchmark_images(
    root: str | os.PathLike, counts: Mapping[str, int] | None = None
) -> dict[tuple[str, int], Path]:
    """The images of a benchmark (or stored submission) folder, by (style, prompt index)."""
    root = Path(root)
    out: dict[tuple[str, int], Path] = {}
    for style in STYLES:
        count = None if counts is None else counts[style]
        files, _ignored = index_style_folder(root / style, count)
        out.update(((style, index), path) for index, path in files.items())
    return out


def image_path(root: str | os.PathLike, style: str, index: int) -> Path | None:
    """The image of prompt ``index`` in ``style`` under ``root``, or None."""
    files, _ignored = index_style_folder(Path(root) / style)
    return files.get(index)


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
    items, missing = collect(folder, prompts)
    scores: dict[str, list[float | None]] = {s: [None] * len(prompts.styles[s]) for s in STYLES}
    unreadable: dict[str, str] = {}
    done = 0
    for batch in score_items(
        scorer, items, batch_size=batch_size, workers=workers, text_cache=text_cache
    ):
        for item, value in batch.scored:
            scores[item.style][item.index] = value
        for item, reason in batch.failed:  # reported, recorded as None
            unreadable[str(item.path)] = reason
        done += batch.items
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
