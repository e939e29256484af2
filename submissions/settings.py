"""Submission and worker settings: upload limits, job leases, worker pacing."""

from __future__ import annotations

from dataclasses import dataclass

from leaderboard.settings import StoreSettings
from scorer.settings import (
    parse_non_negative_int,
    parse_positive_float,
    parse_positive_int,
    setting,
)


@dataclass(frozen=True)
class SubmissionSettings(StoreSettings):
    max_upload_mb: int = setting(2048, parse_positive_int, "Largest upload (zip) accepted, in MiB.")
    max_zip_entries: int = setting(
        10_000, parse_positive_int, "Most entries a submission zip may hold."
    )
    max_uncompressed_mb: int = setting(
        8192,
        parse_positive_int,
        "Largest total uncompressed size of a submission zip, in MiB.",
    )
    max_compression_ratio: float = setting(
        200.0,
        parse_positive_float,
        "Largest uncompressed/compressed ratio of one zip entry (zip-bomb guard).",
    )
    max_image_mb: int = setting(
        64, parse_positive_int, "Largest single image file accepted in a submission, in MiB."
    )
    job_lease_s: int = setting(
        300,
        parse_positive_int,
        "Seconds a running scoring job may go without a heartbeat (one per batch) before another "
        "worker reclaims it as abandoned.",
    )
    worker_poll_s: float = setting(
        2.0,
        parse_positive_float,
        "Seconds an idle scoring worker waits before looking for a queued job again.",
    )
    worker_pause_ms: int = setting(
        0,
        parse_non_negative_int,
        "Milliseconds a scoring worker pauses between batches, leaving CPU to live requests.",
    )
