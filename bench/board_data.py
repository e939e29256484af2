"""A populated leaderboard without scoring: synthetic verified submissions written through the
real job path (create, claim, save scores, finish) and extra reported rows.

Used by ``bench/first_view.py`` and the browser tests, which need many rows and several
verified models but not the cost of scoring thousands of images.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy import insert

from leaderboard import models as m
from leaderboard.seed import ensure_model
from leaderboard.stats import official_stats
from scorer.protocol import STYLES, image_stem
from submissions import jobs


def add_verified(
    store,
    prompts: Mapping[str, Sequence[str]],
    model: str,
    *,
    centre: float,
    spread: float = 1.5,
    seed: int = 0,
    images: bool = False,
    version: str = "v2.1",
) -> int:
    """One finished verified submission whose per-image scores are normal around
    ``centre``; with ``images``, a small picture per prompt in the submission's folder."""
    per_style = {style: len(p) for style, p in prompts.items()}
    sid, _ = store.create_submission(
        model=model, version=version, content_hash=f"synthetic-{model}-{seed}",
        checkpoint_sha256="synthetic", prompts={s: list(p) for s, p in prompts.items()},
        prompts_source="synthetic", partial=False, images_total=sum(per_style.values()),
    )  # fmt: skip
    claim = jobs.claim(store, "synthetic", lease_s=600)
    assert claim is not None and claim.submission_id == sid, "another job was queued first"
    rng = np.random.default_rng(seed)
    scores = {s: (centre + spread * rng.standard_normal(n)).tolist() for s, n in per_style.items()}
    rows = [(s, i, float(v)) for s in STYLES for i, v in enumerate(scores[s])]
    jobs.save_batch(store, claim, rows)
    jobs.finish(store, claim, official_stats(scores))  # as the worker does
    if images:
        write_images(store.submission_folder(sid), per_style, rng)
    return sid


def write_images(folder: Path, per_style: Mapping[str, int], rng) -> None:
    for style, n in per_style.items():
        (folder / style).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            colour = tuple(int(c) for c in rng.integers(30, 230, 3))
            Image.new("RGB", (96, 96), colour).save(folder / style / f"{image_stem(i)}.png")


def add_reported(store, count: int, *, version: str = "v2.1", seed: int = 0) -> None:
    """``count`` reported rows named "Published model k" with means between 24 and 28."""
    rng = np.random.default_rng(seed)
    with store.writer.begin() as conn:
        for k in range(count):
            model_id = ensure_model(conn, f"Published model {k}")
            means = {s: float(24 + 4 * rng.random()) for s in STYLES}
            means["averaged"] = sum(means.values()) / len(STYLES)
            for column, mean in means.items():
                conn.execute(
                    insert(m.reported_results).values(
                        model_id=model_id, version=version, column=column, mean=mean,
                        source="synthetic",
                    )
                )  # fmt: skip
