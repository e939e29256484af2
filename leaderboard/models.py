"""Database tables (SQLAlchemy Core), one declaration for SQLite and PostgreSQL.

Times are stored as naive UTC. Job states are a fixed vocabulary (:data:`STATUSES`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
STATUSES: tuple[str, ...] = (QUEUED, RUNNING, DONE, FAILED, CANCELLED)
KIND_VERIFIED, KIND_REPORTED = "verified", "reported"
FINISHED: tuple[str, ...] = (DONE, FAILED, CANCELLED)  # a job in these states runs no more


def utcnow() -> datetime:
    """Naive UTC, as stored."""
    return datetime.now(UTC).replace(tzinfo=None)


metadata = MetaData()

models = Table(
    "models",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("link", Text),
    Column("organisation", String(200)),
    Column("notes", Text),
    Column("created_at", DateTime, nullable=False),
)

prompt_sets = Table(
    "prompt_sets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("style", String(40), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("n_prompts", Integer, nullable=False),
    Column("source", Text),
    Column("prompts_json", Text, nullable=False),  # the list, by position (never deduped)
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("style", "sha256", name="uq_prompt_sets_style_sha"),
)

submissions = Table(
    "submissions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", Integer, ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
    Column("version", String(16), nullable=False),
    Column("content_hash", String(64), nullable=False),
    # Digest of the checkpoint the submission is (to be) scored with; "pending:<version>"
    # until a worker loads it when it could not be resolved at submit time.
    Column("checkpoint_sha256", String(80), nullable=False),
    Column("precision", String(8)),
    Column("software_json", Text),  # {"torch": ..., "open_clip": ..., "hps_leaderboard": ...}
    Column("status", String(16), nullable=False),
    Column("partial", Boolean, nullable=False, default=False),
    Column("hidden", Boolean, nullable=False, default=False),
    Column("notes", Text),
    Column("folder", Text, nullable=False),  # relative to the data directory
    Column("images_total", Integer, nullable=False),
    Column("images_done", Integer, nullable=False, default=0),
    Column("error", Text),
    Column("attempts", Integer, nullable=False, default=0),
    Column("worker_id", String(200)),
    Column("created_at", DateTime, nullable=False),
    Column("started_at", DateTime),  # first claim
    Column("claimed_at", DateTime),  # current run
    Column("claimed_done", Integer),  # images_done when the current run started
    Column("heartbeat_at", DateTime),
    Column("finished_at", DateTime),
    # Submitted by hub reference: the dataset, the path in it and the resolved commit sha
    # (never a branch name), so anyone can fetch the same bytes. Null for uploads.
    Column("hub_repo", String(200)),
    Column("hub_path", Text),
    Column("hub_revision", String(40)),
    UniqueConstraint("content_hash", "version", "checkpoint_sha256", name="uq_submissions_content"),
)

submission_prompt_sets = Table(
    "submission_prompt_sets",
    metadata,
    Column(
        "submission_id",
        Integer,
        ForeignKey("submissions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("style", String(40), primary_key=True),
    Column("prompt_set_id", Integer, ForeignKey("prompt_sets.id"), nullable=False),
)

image_scores = Table(
    "image_scores",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "submission_id",
        Integer,
        ForeignKey("submissions.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("style", String(40), nullable=False),
    Column("prompt_index", Integer, nullable=False),
    Column("score", Float, nullable=False),
    Column("attempt", Integer, nullable=False),  # which run of the job scored it
    UniqueConstraint("submission_id", "style", "prompt_index", name="uq_image_scores_key"),
)

# Images a scoring job could not score (a file changed on disk after intake, an internal
# error in its preprocessing): the job scores the rest and ends done, and its row counts as
# incomplete (never ranked) while any failure is recorded. A retry clears them.
image_failures = Table(
    "image_failures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "submission_id",
        Integer,
        ForeignKey("submissions.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("style", String(40), nullable=False),
    Column("prompt_index", Integer, nullable=False),
    Column("image", Text, nullable=False),  # <style>/<file name>, as the job saw it
    Column("reason", Text, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("failed_at", DateTime, nullable=False),
    UniqueConstraint("submission_id", "style", "prompt_index", name="uq_image_failures_key"),
)

style_results = Table(
    "style_results",
    metadata,
    Column(
        "submission_id",
        Integer,
        ForeignKey("submissions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("style", String(40), primary_key=True),
    Column("mean", Float),
    Column("std", Float),
    Column("n", Integer, nullable=False),
)

# Published figures (kind "reported"): one row per model, version and column, where the
# column is a style or "averaged". The source gives no std.
reported_results = Table(
    "reported_results",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", Integer, ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
    Column("version", String(16), nullable=False),
    Column("column", String(40), nullable=False),
    Column("mean", Float, nullable=False),
    Column("source", Text),
    UniqueConstraint("model_id", "version", "column", name="uq_reported_key"),
)
