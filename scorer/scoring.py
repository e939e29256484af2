"""The one scoring loop: (style, index, prompt, image file) items in, scored batches out.

Both the benchmark CLI (:func:`scorer.benchmark.run_benchmark`) and the submissions worker run
it. Images are decoded and preprocessed in a small thread pool, up to ``depth`` batches ahead
of the model; the prompts' text embeddings come from the persisted text cache where it has
them (:mod:`scorer.textcache`) and are saved back as the loop goes, so a killed run loses
little. An image that cannot be decoded or preprocessed, for whatever reason (a user error
or a bug), does not stop the loop: it comes back in its batch's ``failed`` list, named, with
the reason, and the other images are scored.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .errors import HPSError, ImageError
from .model import HPSScorer
from .textcache import load_text_cache, save_text_cache

log = logging.getLogger(__name__)

TEXT_CACHE_SAVE_S = 60.0  # seconds between saves of newly encoded prompts during a run


@dataclass(frozen=True)
class Item:
    style: str
    index: int
    prompt: str
    path: Path


@dataclass
class ScoredBatch:
    scored: list[tuple[Item, float]] = field(default_factory=list)
    failed: list[tuple[Item, str]] = field(default_factory=list)  # (item, reason)

    @property
    def items(self) -> int:
        return len(self.scored) + len(self.failed)


def default_workers() -> int:
    return min(4, os.cpu_count() or 1)


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
        try:
            for batch in batches:
                pending.append((batch, [pool.submit(fn, item) for item in batch]))
                if len(pending) > depth:
                    done_batch, futures = pending.pop(0)
                    yield done_batch, [f.result() for f in futures]
            for done_batch, futures in pending:
                yield done_batch, [f.result() for f in futures]
        finally:  # the consumer stopped early: do not decode what nobody will score
            for _, futures in pending:
                for future in futures:
                    future.cancel()


def score_items(
    scorer: HPSScorer,
    items: Sequence[Item],
    *,
    batch_size: int | None = None,
    workers: int | None = None,
    text_cache: str | os.PathLike | None = None,
) -> Iterator[ScoredBatch]:
    """Score ``items`` batch by batch, yielding each batch's scores and failures in order.

    ``text_cache``: a folder (``<data_dir>/text_cache``) holding the prompts' text embeddings
    per checkpoint and precision; with it, prompts encoded by any earlier run are not encoded
    again. The consumer may stop at any batch (close the generator): newly encoded prompts
    are saved to the text cache then too.
    """
    batch_size = max(1, batch_size or scorer.batch_size)
    workers = default_workers() if workers is None else workers
    prompts = [item.prompt for item in items]
    if text_cache is not None:
        load_text_cache(scorer, prompts, text_cache)

    def load(item: Item) -> torch.Tensor | HPSError:
        name = f"{item.style}/{item.path.name}"
        try:
            return scorer.preprocess(item.path, name, check_extension=True)
        except HPSError as exc:  # reported with the batch, the others are scored
            return exc
        except Exception as exc:  # a bug, or a file changed under us: named, and not fatal
            log.exception("unexpected error preprocessing %s", name)
            return ImageError(name, f"internal error: {type(exc).__name__}: {exc}")

    batches = [list(items[i : i + batch_size]) for i in range(0, len(items), batch_size)]
    last_save = time.monotonic()
    try:
        for batch, results in _prefetch(load, batches, workers):
            out = ScoredBatch()
            good = [(item, t) for item, t in zip(batch, results) if isinstance(t, torch.Tensor)]
            for item, res in zip(batch, results):
                if not isinstance(res, torch.Tensor):
                    out.failed.append((item, getattr(res, "reason", None) or str(res)))
            if good:
                try:
                    values = scorer.score_pixels(
                        torch.stack([t for _, t in good]), [item.prompt for item, _ in good]
                    )
                except Exception as exc:  # not an image's fault: name the batch, stop
                    first, last = good[0][0], good[-1][0]
                    raise RuntimeError(
                        f"scoring images {first.style}/{first.path.name} to "
                        f"{last.style}/{last.path.name} failed: {type(exc).__name__}: {exc}"
                    ) from exc
                out.scored = [(item, value) for (item, _), value in zip(good, values)]
            if text_cache is not None and time.monotonic() - last_save > TEXT_CACHE_SAVE_S:
                save_text_cache(scorer, prompts, text_cache)
                last_save = time.monotonic()
            yield out
    finally:
        if text_cache is not None:
            save_text_cache(scorer, prompts, text_cache)
