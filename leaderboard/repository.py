"""The store: every read and admin action on submissions, results and models.

Build one with :meth:`Store.open` (creates/migrates the schema, seeds the published tables
once). Job claiming and per-batch writes live in ``submissions.jobs``; they use this store's
engines. The database is the state; the one thing kept in memory is each version's rank
intervals (a bootstrap over every verified model's images), keyed by the rows they derive
from, so a job that finishes, a hide or a delete gives a new key and a fresh computation.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from scorer.prompts import prompt_list_sha256
from scorer.protocol import PROMPTS_PER_STYLE, STYLES
from scorer.zoo import get_version

from . import models as m
from .board import all_rows, assemble, ranking_key, row_intervals
from .db import make_engine, migrate, writer
from .identity import ModelNameTaken, check_link, model_key
from .models import utcnow
from .records import (
    InvalidTransition,
    LeaderboardRow,
    Progress,
    Reproduction,
    SubmissionInfo,
    SubmissionNotFound,
    aware,
)
from .reproduction import reproductions
from .settings import StoreSettings


class Store:
    def __init__(self, engine: Engine, settings: StoreSettings) -> None:
        self.engine = engine
        self.writer = writer(engine)
        self.settings = settings
        self._rank_cache: dict[str, tuple[tuple, tuple[list, list]]] = {}
        self._rank_lock = threading.Lock()

    @classmethod
    def open(cls, settings: StoreSettings) -> Store:
        settings.writable_data_path()  # one line naming HPS_DATA_DIR, not a traceback
        engine = make_engine(settings.resolved_database_url)
        migrate(engine)
        return cls(engine, settings)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def data_path(self) -> Path:
        return self.settings.data_path

    def submission_folder(self, submission_id: int) -> Path:
        return self.data_path / "submissions" / str(submission_id)

    # --- leaderboard ------------------------------------------------------------------
    def leaderboard(
        self, version: str, *, include_partial: bool = False, verified_only: bool = False
    ) -> list[LeaderboardRow]:
        """Rows of one version, best first; partial rows (never ranked) last. Verified and
        reported rows are ranked together by Averaged."""
        get_version(version)  # an unknown version is a user error that lists the known ones
        with self.engine.connect() as conn:
            rows = all_rows(conn, version)
        intervals, means = self._intervals(version, rows)
        return assemble(
            rows, intervals, means, include_partial=include_partial, verified_only=verified_only,
            tolerance=self.settings.reproduced_within,
        )  # fmt: skip

    def _intervals(self, version: str, rows: list[dict]) -> tuple[list, list]:
        key = ranking_key(rows)
        with self._rank_lock:
            cached = self._rank_cache.get(version)
            if cached is not None and cached[0] == key:
                return cached[1]
            scores = {
                r["submission_id"]: self.image_scores(r["submission_id"])
                for r in rows
                if r["submission_id"] is not None and not r["partial"]
            }
            intervals = row_intervals(rows, scores)
            self._rank_cache[version] = (key, intervals)  # one entry per version
            return intervals

    def reproductions(self, version: str) -> list[Reproduction]:
        """The published rows of one version that have a verified twin, with their
        differences, in leaderboard order."""
        return reproductions(self.leaderboard(version))

    # --- submissions ------------------------------------------------------------------
    def _info_query(self):
        s, md = m.submissions, m.models
        return select(s, md.c.name, md.c.link, md.c.organisation).join(md, md.c.id == s.c.model_id)

    @staticmethod
    def _info(r: Mapping) -> SubmissionInfo:
        return SubmissionInfo(
            id=r["id"],
            model=r["name"],
            version=r["version"],
            status=r["status"],
            partial=bool(r["partial"]),
            created_at=aware(r["created_at"]),
            finished_at=aware(r["finished_at"]),
            error=r["error"],
            precision=r["precision"],
            checkpoint_sha256=r["checkpoint_sha256"],
            images_total=r["images_total"],
            images_done=r["images_done"],
            hidden=bool(r["hidden"]),
            link=r["link"],
            organisation=r["organisation"],
            notes=r["notes"],
            content_hash=r["content_hash"],
            attempts=r["attempts"],
            started_at=aware(r["started_at"]),
            folder=r["folder"],
            software=json.loads(r["software_json"]) if r["software_json"] else {},
            hub_repo=r["hub_repo"],
            hub_path=r["hub_path"],
            hub_revision=r["hub_revision"],
        )

    def get_submission(self, submission_id: int) -> SubmissionInfo:
        with self.engine.connect() as conn:
            row = (
                conn.execute(self._info_query().where(m.submissions.c.id == submission_id))
                .mappings()
                .first()
            )
        if row is None:
            raise SubmissionNotFound(submission_id)
        return self._info(row)

    def list_submissions(
        self, *, statuses: Iterable[str] | None = None, include_hidden: bool = False
    ) -> list[SubmissionInfo]:
        """Newest first."""
        s = m.submissions
        query = self._info_query().order_by(s.c.created_at.desc(), s.c.id.desc())
        if statuses is not None:
            query = query.where(s.c.status.in_(list(statuses)))
        if not include_hidden:
            query = query.where(s.c.hidden.is_(False))
        with self.engine.connect() as conn:
            return [self._info(r) for r in conn.execute(query).mappings()]

    def image_scores(self, submission_id: int) -> dict[str, list[float | None]]:
        """Per style, the scores in prompt order (None where no image or not yet scored)."""
        self.get_submission(submission_id)
        sizes = self.prompt_counts(submission_id)
        out = {style: [None] * sizes.get(style, PROMPTS_PER_STYLE) for style in STYLES}
        t = m.image_scores
        query = select(t.c.style, t.c.prompt_index, t.c.score).where(
            t.c.submission_id == submission_id
        )
        with self.engine.connect() as conn:
            for style, index, score in conn.execute(query):
                out[style][index] = score
        return out

    def prompt_counts(self, submission_id: int) -> dict[str, int]:
        sp, ps = m.submission_prompt_sets, m.prompt_sets
        query = (
            select(sp.c.style, ps.c.n_prompts)
            .join(ps, ps.c.id == sp.c.prompt_set_id)
            .where(sp.c.submission_id == submission_id)
        )
        with self.engine.connect() as conn:
            return dict(conn.execute(query).all())

    def prompts(self, submission_id: int) -> dict[str, list[str]]:
        """The prompt lists the submission is scored against, by position."""
        sp, ps = m.submission_prompt_sets, m.prompt_sets
        query = (
            select(sp.c.style, ps.c.prompts_json)
            .join(ps, ps.c.id == sp.c.prompt_set_id)
            .where(sp.c.submission_id == submission_id)
        )
        with self.engine.connect() as conn:
            return {style: json.loads(data) for style, data in conn.execute(query)}

    def progress(self, submission_id: int, *, now: datetime | None = None) -> Progress:
        with self.engine.connect() as conn:
            r = (
                conn.execute(select(m.submissions).where(m.submissions.c.id == submission_id))
                .mappings()
                .first()
            )
        if r is None:
            raise SubmissionNotFound(submission_id)
        done, total = r["images_done"], r["images_total"]
        rate = None
        if r["claimed_at"] is not None and r["claimed_done"] is not None:
            end = r["finished_at"] if r["status"] != m.RUNNING else (now or utcnow())
            if r["status"] == m.RUNNING and r["heartbeat_at"] is not None:
                end = max(end, r["heartbeat_at"])
            elapsed = (end - r["claimed_at"]).total_seconds() if end else 0.0
            scored = done - r["claimed_done"]
            if elapsed > 0 and scored > 0:
                rate = scored / elapsed
        if r["status"] == m.DONE:
            eta = 0.0
        elif rate:
            eta = (total - done) / rate
        else:
            eta = None
        return Progress(r["status"], done, total, rate, eta)

    # --- admin ------------------------------------------------------------------------
    def hide_submission(self, submission_id: int, hidden: bool = True) -> None:
        self._update(submission_id, hidden=hidden)

    def delete_submission(self, submission_id: int) -> None:
        """Remove the submission, its scores and its stored images; a model left with no
        submission and no published result goes too (its name is free again)."""
        s = m.submissions
        with self.writer.begin() as conn:
            model_id = conn.execute(select(s.c.model_id).where(s.c.id == submission_id)).scalar()
            if model_id is None:
                raise SubmissionNotFound(submission_id)
            for table in (
                m.image_scores,
                m.image_failures,
                m.style_results,
                m.submission_prompt_sets,
            ):
                conn.execute(delete(table).where(table.c.submission_id == submission_id))
            conn.execute(delete(s).where(s.c.id == submission_id))
            _delete_if_orphaned(conn, model_id)
        folder = self.submission_folder(submission_id)
        if folder.is_dir():
            shutil.rmtree(folder)

    def requeue(self, submission_id: int, *, rescore: bool = False) -> None:
        """Queue a failed or cancelled job again (it resumes: finished images are kept), retry
        the failed images of a finished one (scored images kept), or rescore a finished one
        from scratch (``rescore=True``, or status done with no failed image)."""
        s, f = m.submissions, m.image_failures
        with self.writer.begin() as conn:
            status = conn.execute(select(s.c.status).where(s.c.id == submission_id)).scalar()
            if status is None:
                raise SubmissionNotFound(submission_id)
            if status in (m.QUEUED, m.RUNNING):
                raise InvalidTransition(f"submission #{submission_id} is already {status}")
            failed = conn.execute(
                select(f.c.id).where(f.c.submission_id == submission_id).limit(1)
            ).first()
            values = dict(status=m.QUEUED, error=None, finished_at=None, worker_id=None)
            conn.execute(delete(f).where(f.c.submission_id == submission_id))
            if rescore or (status == m.DONE and failed is None):
                for table in (m.image_scores, m.style_results):
                    conn.execute(delete(table).where(table.c.submission_id == submission_id))
                values["images_done"] = 0
            conn.execute(update(s).where(s.c.id == submission_id).values(**values))

    def image_failures(self, submission_id: int) -> list[tuple[str, str]]:
        """(image, reason) of the images its job could not score, in benchmark order."""
        f = m.image_failures
        query = (
            select(f.c.image, f.c.reason)
            .where(f.c.submission_id == submission_id)
            .order_by(f.c.style, f.c.prompt_index)
        )
        with self.engine.connect() as conn:
            return [(image, reason) for image, reason in conn.execute(query)]

    def cancel(self, submission_id: int) -> None:
        """Stop a queued or running job (a running worker notices at its next batch)."""
        s = m.submissions
        with self.writer.begin() as conn:
            status = conn.execute(select(s.c.status).where(s.c.id == submission_id)).scalar()
            if status is None:
                raise SubmissionNotFound(submission_id)
            if status not in (m.QUEUED, m.RUNNING):
                raise InvalidTransition(f"submission #{submission_id} is {status}, not queued")
            conn.execute(
                update(s)
                .where(s.c.id == submission_id)
                .values(status=m.CANCELLED, finished_at=utcnow(), worker_id=None)
            )

    def _update(self, submission_id: int, **values) -> None:
        with self.writer.begin() as conn:
            result = conn.execute(
                update(m.submissions).where(m.submissions.c.id == submission_id).values(**values)
            )
            if result.rowcount == 0:
                raise SubmissionNotFound(submission_id)

    # --- intake -----------------------------------------------------------------------
    def check_model_name(
        self,
        name: str,
        *,
        link: str | None = None,
        organisation: str | None = None,
        notes: str | None = None,
        reproduction: bool = False,
    ) -> None:
        """Raise ModelNameTaken if a submission under ``name`` with this metadata would be
        refused (checked again when the submission is stored)."""
        with self.engine.connect() as conn:
            _model_for_submission(conn, name, link, organisation, notes, reproduction)

    def find_duplicate(self, content_hash: str, version: str, checkpoint_sha256: str) -> int | None:
        s = m.submissions
        with self.engine.connect() as conn:
            return conn.execute(
                select(s.c.id).where(
                    s.c.content_hash == content_hash,
                    s.c.version == version,
                    s.c.checkpoint_sha256 == checkpoint_sha256,
                )
            ).scalar()

    def create_submission(
        self,
        *,
        model: str,
        version: str,
        content_hash: str,
        checkpoint_sha256: str,
        prompts: Mapping[str, list[str]],
        prompts_source: str | None,
        partial: bool,
        images_total: int,
        link: str | None = None,
        organisation: str | None = None,
        notes: str | None = None,
        place: Callable[[int], None] | None = None,
        hub: tuple[str, str, str] | None = None,
        reproduction: bool = False,
    ) -> tuple[int, bool]:
        """Insert a queued submission; returns (id, duplicate). Identical content (hash,
        version, checkpoint) returns the existing id with duplicate=True. ``place(id)`` runs
        inside the transaction (it moves the images into the submission's folder): if it
        fails, nothing is stored. ``hub``: (dataset, path, commit sha) of a submission by
        hub reference. ``reproduction``: the published model's own images, filed under
        that published model (the one way a result joins one; ``notes`` stay on the
        submission, the model is not changed)."""
        values = dict(
            model=model,
            version=version,
            content_hash=content_hash,
            checkpoint_sha256=checkpoint_sha256,
            prompts=prompts,
            prompts_source=prompts_source,
            partial=partial,
            images_total=images_total,
            link=link,
            organisation=organisation,
            notes=notes,
            place=place,
            hub=hub,
            reproduction=reproduction,
        )
        try:
            return self._create_submission(**values)
        except IntegrityError:
            # A concurrent submit of identical content won the race: return its row.
            existing = self.find_duplicate(content_hash, version, checkpoint_sha256)
            if existing is None:
                raise
            return existing, True

    def _create_submission(
        self,
        *,
        model,
        version,
        content_hash,
        checkpoint_sha256,
        prompts,
        prompts_source,
        partial,
        images_total,
        link,
        organisation,
        notes,
        place,
        hub,
        reproduction,
    ) -> tuple[int, bool]:
        s = m.submissions
        with self.writer.begin() as conn:
            existing = conn.execute(
                select(s.c.id).where(
                    s.c.content_hash == content_hash,
                    s.c.version == version,
                    s.c.checkpoint_sha256 == checkpoint_sha256,
                )
            ).scalar()
            if existing is not None:
                return existing, True
            if reproduction:
                model_id = claim_model(conn, model, reproduction=True)
            else:
                model_id = claim_model(
                    conn, model, link=link, organisation=organisation, notes=notes
                )
            now = utcnow()
            sub_id = conn.execute(
                insert(s)
                .values(
                    model_id=model_id,
                    version=version,
                    content_hash=content_hash,
                    checkpoint_sha256=checkpoint_sha256,
                    status=m.QUEUED,
                    partial=partial,
                    hidden=False,
                    notes=notes,
                    folder="",
                    images_total=images_total,
                    images_done=0,
                    attempts=0,
                    created_at=now,
                    **dict(zip(("hub_repo", "hub_path", "hub_revision"), hub or ())),
                )
                .returning(s.c.id)
            ).scalar_one()
            conn.execute(update(s).where(s.c.id == sub_id).values(folder=f"submissions/{sub_id}"))
            for style in STYLES:
                ps_id = _ensure_prompt_set(conn, style, prompts[style], prompts_source)
                conn.execute(
                    insert(m.submission_prompt_sets).values(
                        submission_id=sub_id, style=style, prompt_set_id=ps_id
                    )
                )
            if place is not None:
                place(sub_id)
        return sub_id, False

    def count_scores(self, submission_id: int) -> int:
        t = m.image_scores
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.count()).select_from(t).where(t.c.submission_id == submission_id)
            ).scalar_one()


_PG_MODEL_LOCK = 0x48505333  # advisory-lock key: one model-name check and insert at a time


def claim_model(
    conn,
    name: str,
    *,
    link: str | None = None,
    organisation: str | None = None,
    notes: str | None = None,
    reproduction: bool = False,
) -> int:
    """Id of the model a submission under ``name`` goes to, created if new with the given
    metadata; ModelNameTaken (rules in :mod:`leaderboard.identity`) if the name is a
    published model's, a lookalike of another, or would change an existing model. A
    ``reproduction`` joins the published model named exactly ``name`` and nothing else."""
    if conn.dialect.name == "postgresql":  # SQLite: the writer transaction already serialises
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MODEL_LOCK})
    found = _model_for_submission(conn, name, link, organisation, notes, reproduction)
    if found is not None:
        return found
    return conn.execute(
        insert(m.models)
        .values(
            name=name,
            link=check_link(link),
            organisation=organisation,
            notes=notes,
            created_at=utcnow(),
        )
        .returning(m.models.c.id)
    ).scalar_one()


def _model_for_submission(
    conn, name, link, organisation, notes, reproduction: bool = False
) -> int | None:
    """The existing model a submission under ``name`` joins, None for a new model, or
    ModelNameTaken. A reproduction joins the published model of exactly that name."""
    check_link(link)
    key = model_key(name)
    md, rr = m.models, m.reported_results
    published = set(conn.scalars(select(rr.c.model_id).distinct()))
    if reproduction:
        found = conn.execute(select(md.c.id).where(md.c.name == name)).scalar()
        if found is None or found not in published:
            raise ModelNameTaken(
                f"{name!r} is not a published model: a reproduction is filed under the "
                "published model's exact name"
            )
        return found
    for row in conn.execute(select(md)).mappings():
        if model_key(row["name"]) != key:
            continue
        if row["id"] in published:
            raise ModelNameTaken(
                f"model name {name!r} is the published model {row['name']!r}: its rows are "
                "the HPS v2 paper's and submissions cannot change them. Submit under a name "
                f"of your own, e.g. {row['name'] + ' (your organisation)'!r}"
            )
        if row["name"] != name:
            raise ModelNameTaken(
                f"model name {name!r} is too close to the existing model {row['name']!r} "
                "(names are compared ignoring case, spaces and Unicode look-alikes): use "
                "exactly that name to add a result to it, or a clearly different name"
            )
        given = {"link": link, "organisation": organisation, "notes": notes}
        changed = [k for k, v in given.items() if v and v != row[k]]
        if changed:
            raise ModelNameTaken(
                f"model {row['name']!r} already exists and a submission cannot change its "
                f"{', '.join(changed)} (set when it was first submitted): leave "
                f"{'it' if len(changed) == 1 else 'them'} empty to add a result to it, or "
                "submit under a new name"
            )
        return row["id"]
    return None


def _delete_if_orphaned(conn, model_id: int) -> None:
    s, rr = m.submissions, m.reported_results
    for table in (s, rr):
        used = conn.execute(select(table.c.id).where(table.c.model_id == model_id).limit(1))
        if used.first() is not None:
            return
    conn.execute(delete(m.models).where(m.models.c.id == model_id))


def _ensure_prompt_set(conn, style: str, prompts: list[str], source: str | None) -> int:

    digest = prompt_list_sha256(prompts)
    ps = m.prompt_sets
    found = conn.execute(select(ps.c.id).where(ps.c.style == style, ps.c.sha256 == digest)).scalar()
    if found is not None:
        return found
    return conn.execute(
        insert(ps)
        .values(
            style=style,
            sha256=digest,
            n_prompts=len(prompts),
            source=source,
            prompts_json=json.dumps(prompts, ensure_ascii=False),
            created_at=utcnow(),
        )
        .returning(ps.c.id)
    ).scalar_one()
