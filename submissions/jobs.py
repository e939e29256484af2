"""Durable scoring jobs, as rows of the ``submissions`` table.

States: queued -> running -> done | failed | cancelled. A worker claims the oldest queued
job, or a running one whose heartbeat is older than the lease (its worker died), in one
write transaction: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE`` (the
database write lock) on SQLite. Each claim increments ``attempts``, which fences the run:
every later write checks that the job is still running under the same attempt, so a worker
whose job was reclaimed or cancelled stops and writes nothing more. Scores are committed per
batch together with the heartbeat and the progress counter, and so are the images of the
batch that could not be scored (``image_failures``): one bad image never sinks a job, it is
recorded by name with its reason, the rest are scored, and the job ends done with an error
line naming the failures (the row is incomplete, never ranked, until a rescore clears them).

Heartbeats use this machine's UTC clock: workers on several machines need synced clocks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from leaderboard import models as m
from leaderboard.models import utcnow
from leaderboard.stats import OfficialResult


@dataclass(frozen=True)
class Claim:
    submission_id: int
    version: str
    attempt: int
    worker_id: str
    checkpoint_sha256: str
    folder: str


def claim(store, worker_id: str, *, lease_s: int, now: datetime | None = None) -> Claim | None:
    """Atomically take the next job, or None when there is none."""
    s = m.submissions
    now = now or utcnow()
    stale = now - timedelta(seconds=lease_s)
    claimable = or_(
        s.c.status == m.QUEUED,
        and_(s.c.status == m.RUNNING, or_(s.c.heartbeat_at.is_(None), s.c.heartbeat_at < stale)),
    )
    with store.writer.begin() as conn:
        row = (
            conn.execute(
                select(s.c.id, s.c.attempts, s.c.images_done, s.c.started_at)
                .where(claimable)
                .order_by(s.c.created_at, s.c.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        attempt = row["attempts"] + 1
        conn.execute(
            update(s)
            .where(s.c.id == row["id"])
            .values(
                status=m.RUNNING,
                attempts=attempt,
                worker_id=worker_id,
                claimed_at=now,
                claimed_done=row["images_done"],
                heartbeat_at=now,
                started_at=row["started_at"] or now,
                error=None,
            )
        )
        job = conn.execute(select(s).where(s.c.id == row["id"])).mappings().one()
    return Claim(
        job["id"], job["version"], attempt, worker_id, job["checkpoint_sha256"], job["folder"]
    )


def _fenced(c: Claim):
    s = m.submissions
    return and_(s.c.id == c.submission_id, s.c.status == m.RUNNING, s.c.attempts == c.attempt)


def scored_keys(store, submission_id: int) -> set[tuple[str, int]]:
    t = m.image_scores
    with store.engine.connect() as conn:
        return {
            (style, index)
            for style, index in conn.execute(
                select(t.c.style, t.c.prompt_index).where(t.c.submission_id == submission_id)
            )
        }


def save_batch(
    store,
    c: Claim,
    rows: Sequence[tuple[str, int, float]],
    failures: Sequence[tuple[str, int, str, str]] = (),
) -> bool:
    """Commit one batch with the heartbeat and the progress counter: its scores, and its
    failed images (``(style, index, image, reason)``); a scored image's earlier failure
    record goes. False if the job is no longer ours."""
    s, t, f = m.submissions, m.image_scores, m.image_failures
    with store.writer.begin() as conn:
        if conn.execute(update(s).where(_fenced(c)).values(heartbeat_at=utcnow())).rowcount != 1:
            return False
        keys = [(style, index) for style, index, _ in rows] + [(st, i) for st, i, _, _ in failures]
        if keys:  # one statement per batch, not one per image
            conn.execute(
                delete(f).where(
                    f.c.submission_id == c.submission_id,
                    tuple_(f.c.style, f.c.prompt_index).in_(keys),
                )
            )
        if rows:
            conn.execute(
                insert(t),
                [
                    dict(
                        submission_id=c.submission_id,
                        style=style,
                        prompt_index=index,
                        score=float(score),
                        attempt=c.attempt,
                    )
                    for style, index, score in rows
                ],
            )
        if failures:
            now = utcnow()
            conn.execute(
                insert(f),
                [
                    dict(
                        submission_id=c.submission_id,
                        style=style,
                        prompt_index=index,
                        image=image,
                        reason=reason[:2000],
                        attempt=c.attempt,
                        failed_at=now,
                    )
                    for style, index, image, reason in failures
                ],
            )
        count = (
            select(func.count())
            .select_from(t)
            .where(t.c.submission_id == c.submission_id)
            .scalar_subquery()
        )
        conn.execute(update(s).where(s.c.id == c.submission_id).values(images_done=count))
    return True


def failed_images(store, submission_id: int) -> list[tuple[str, str]]:
    """(image, reason) of the images the job could not score, in benchmark order."""
    f = m.image_failures
    query = (
        select(f.c.style, f.c.prompt_index, f.c.image, f.c.reason)
        .where(f.c.submission_id == submission_id)
        .order_by(f.c.style, f.c.prompt_index)
    )
    with store.engine.connect() as conn:
        return [(image, reason) for _, _, image, reason in conn.execute(query)]


MAX_LISTED_FAILURES = 5


def failures_summary(failures: Sequence[tuple[str, str]], total: int) -> str | None:
    """The job's one-line error for failed images: how many, the first few by name and
    reason, and what follows from it."""
    if not failures:
        return None
    shown = "; ".join(f"{image}: {reason}" for image, reason in failures[:MAX_LISTED_FAILURES])
    more = len(failures) - MAX_LISTED_FAILURES
    return (
        f"{len(failures)} of {total} images could not be scored ({shown}"
        f"{f'; and {more} more' if more > 0 else ''}); the other images are scored, the row "
        "is incomplete and not ranked until they are resolved (replace the files, then rescore)"
    )


def record_scorer(store, c: Claim, *, checkpoint_sha256: str, precision: str, software: dict):
    """Record what scores the job. A submission accepted with a pending checkpoint digest
    takes the worker's; a different digest than the one it was accepted for is an error."""
    s = m.submissions
    values = dict(precision=precision, software_json=json.dumps(software, sort_keys=True))
    pending = c.checkpoint_sha256.startswith("pending:")
    if not pending and c.checkpoint_sha256 != checkpoint_sha256:
        raise CheckpointMismatch(
            f"submission #{c.submission_id} was accepted for checkpoint "
            f"{c.checkpoint_sha256[:12]}..., but this worker loaded {checkpoint_sha256[:12]}... "
            "(HPS_CHECKPOINT differs between the app and the worker)"
        )
    if pending:
        values["checkpoint_sha256"] = checkpoint_sha256
    try:
        with store.writer.begin() as conn:
            return conn.execute(update(s).where(_fenced(c)).values(**values)).rowcount == 1
    except IntegrityError:
        other = store.find_duplicate(
            store.get_submission(c.submission_id).content_hash, c.version, checkpoint_sha256
        )
        raise CheckpointMismatch(
            f"identical content was already submitted as #{other} for this checkpoint"
        ) from None


class CheckpointMismatch(Exception):
    pass


def finish(store, c: Claim, result: OfficialResult, error: str | None = None) -> bool:
    """Done, with the official statistics; ``error`` says which images failed, if any."""
    s, sr = m.submissions, m.style_results
    with store.writer.begin() as conn:
        ok = (
            conn.execute(
                update(s)
                .where(_fenced(c))
                .values(
                    status=m.DONE,
                    finished_at=utcnow(),
                    heartbeat_at=utcnow(),
                    error=error[:4000] if error else None,
                )
            ).rowcount
            == 1
        )
        if not ok:
            return False
        conn.execute(sr.delete().where(sr.c.submission_id == c.submission_id))
        conn.execute(
            insert(sr),
            [
                dict(submission_id=c.submission_id, style=style, mean=st.mean, std=st.std, n=st.n)
                for style, st in result.styles.items()
            ],
        )
    return True


def fail(store, c: Claim, error: str) -> bool:
    with store.writer.begin() as conn:
        return (
            conn.execute(
                update(m.submissions)
                .where(_fenced(c))
                .values(status=m.FAILED, error=error[:4000], finished_at=utcnow())
            ).rowcount
            == 1
        )


def release(store, c: Claim) -> bool:
    """Give a job back to the queue (graceful stop); its finished images are kept."""
    with store.writer.begin() as conn:
        return (
            conn.execute(
                update(m.submissions)
                .where(_fenced(c))
                .values(status=m.QUEUED, worker_id=None, heartbeat_at=None)
            ).rowcount
            == 1
        )
