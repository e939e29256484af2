"""The scoring worker: claims a job, scores its images batch by batch, commits each batch.

A crash or restart resumes where it stopped: only (style, index) pairs without a stored score
are scored. The scorer is made by an injectable factory (default: the checkpoint from the
settings), once per version per worker.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import closing
from importlib import metadata

import open_clip
import torch

from leaderboard.stats import official_stats
from scorer.benchmark import benchmark_images
from scorer.errors import HPSError
from scorer.model import load_scorer_from_settings
from scorer.protocol import STYLES
from scorer.scoring import Item, score_items

from . import jobs

log = logging.getLogger(__name__)

ScorerFactory = Callable[[str], object]


def default_scorer_factory(settings) -> ScorerFactory:
    def make(version: str):
        # the text tower loads only if a prompt is missing from the persisted text cache
        return load_scorer_from_settings(settings.for_version(version), lazy_text=True)

    return make


def software_versions() -> dict[str, str]:
    """Recorded with every result: what computed it."""
    try:
        ours = metadata.version("hps-leaderboard")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        ours = "unknown"
    return {"torch": torch.__version__, "open_clip": open_clip.__version__, "hps_leaderboard": ours}


class Worker:
    def __init__(
        self,
        store,
        settings=None,
        scorer_factory: ScorerFactory | None = None,
        *,
        worker_id: str | None = None,
        on_job_done: Callable[[int], None] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings or store.settings
        self.scorer_factory = scorer_factory or default_scorer_factory(self.settings)
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._scorers: dict[str, object] = {}  # loaded once per version, per worker
        # called with the submission id after a job is done (the app's backup hook)
        self.on_job_done = on_job_done

    def scorer(self, version: str):
        if version not in self._scorers:
            self._scorers[version] = self.scorer_factory(version)
        return self._scorers[version]

    def run_once(self, stop: threading.Event | None = None) -> bool:
        """Claim one job and run it to its end (done, failed, released on stop). Returns
        whether a job was claimed."""
        claim = jobs.claim(self.store, self.worker_id, lease_s=self.settings.job_lease_s)
        if claim is None:
            return False
        log.info(
            "worker %s: job #%d, attempt %d", self.worker_id, claim.submission_id, claim.attempt
        )
        try:
            self._run(claim, stop)
        except HPSError as exc:
            jobs.fail(self.store, claim, str(exc))
        except jobs.CheckpointMismatch as exc:
            jobs.fail(self.store, claim, str(exc))
        except Exception as exc:
            log.exception("job #%d failed", claim.submission_id)
            jobs.fail(
                self.store,
                claim,
                f"internal error in job #{claim.submission_id}: {type(exc).__name__}: {exc}",
            )
        finally:
            # the job's prompts are in the text cache now: free the text tower between jobs
            # (a no-op for a scorer that was not loaded with lazy_text, e.g. the app's)
            release = getattr(self._scorers.get(claim.version), "release_text_tower", None)
            if release is not None:
                release()
        return True

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                busy = self.run_once(stop)
            except Exception:  # database unreachable, ...: keep the worker alive
                log.exception("worker %s: claim failed", self.worker_id)
                busy = False
            if not busy:
                stop.wait(self.settings.worker_poll_s)

    def _run(self, claim: jobs.Claim, stop: threading.Event | None) -> None:
        store = self.store
        scorer = self.scorer(claim.version)
        if not jobs.record_scorer(
            store,
            claim,
            checkpoint_sha256=scorer.checkpoint_sha256,
            precision=scorer.precision,
            software=software_versions(),
        ):
            return
        prompts = store.prompts(claim.submission_id)
        images = benchmark_images(store.data_path / claim.folder)
        info = store.get_submission(claim.submission_id)
        if len(images) != info.images_total:
            raise HPSError(
                f"submission #{claim.submission_id}: {len(images)} images in "
                f"{claim.folder}, {info.images_total} were accepted (stored files missing)"
            )
        done = jobs.scored_keys(store, claim.submission_id)
        todo = [
            Item(style, i, prompts[style][i], images[(style, i)])
            for style in STYLES
            for i in sorted(i for (s, i) in images if s == style and (s, i) not in done)
        ]
        pause = self.settings.worker_pause_ms / 1000.0
        batches = score_items(
            scorer,
            todo,
            batch_size=self.settings.batch_size,
            text_cache=store.data_path / "text_cache",
        )
        with closing(batches):
            for batch in batches:
                rows = [(item.style, item.index, value) for item, value in batch.scored]
                failures = [
                    (item.style, item.index, f"{item.style}/{item.path.name}", reason)
                    for item, reason in batch.failed
                ]
                for _, _, image, reason in failures:
                    log.warning(
                        "job #%d: image %s not scored: %s", claim.submission_id, image, reason
                    )
                if not jobs.save_batch(store, claim, rows, failures):
                    log.info(
                        "job #%d is no longer ours (cancelled or reclaimed)", claim.submission_id
                    )
                    return
                if stop is not None and stop.is_set():
                    jobs.release(store, claim)
                    return
                if pause:
                    time.sleep(pause)
        result = official_stats(store.image_scores(claim.submission_id))
        error = jobs.failures_summary(
            jobs.failed_images(store, claim.submission_id), info.images_total
        )
        if jobs.finish(store, claim, result, error) and self.on_job_done is not None:
            try:
                self.on_job_done(claim.submission_id)
            except Exception:  # a hook never fails a finished job
                log.exception("job #%d: on_job_done hook failed", claim.submission_id)
