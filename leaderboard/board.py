"""The leaderboard of one version: verified rows (scored here) and reported rows (the
published tables), ranked together by Averaged; partial rows are never ranked.

Ranks are global within a version: filters (verified only, partial shown or not) hide rows,
never renumber them. Verified rows carry a 95% rank interval from the bootstrap
(:func:`leaderboard.stats.rank_intervals`); reported rows have none. A reported row and its
verified twin (same model) both carry the pair (:mod:`.reproduction`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Connection, select

from scorer.protocol import (
    OFFICIAL_PROMPT_SHA256,
    PROMPTS_PER_STYLE,
    STYLES,
    StyleStats,
    averaged,
)

from . import models as m
from .records import DEFAULT_TOLERANCE, LeaderboardRow, aware
from .reproduction import attach_reproductions
from .stats import (
    Interval,
    RankInterval,
    averaged_samples,
    rank_intervals,
    rank_rows,
    resampled_style_means,
    sample_intervals,
    ties,
)


def all_rows(conn: Connection, version: str) -> list[dict]:
    """Every row of the version (verified, reported, partial) as plain dicts."""
    return verified_rows(conn, version) + reported_rows(conn, version)


def ranking_key(rows: Sequence[dict]) -> tuple:
    """What the ranks and rank intervals depend on: equal keys give equal intervals."""
    return tuple((r["submission_id"], r["averaged"], r["n_images"], r["partial"]) for r in rows)


def row_intervals(
    rows: Sequence[dict], scores: Mapping[int, Mapping[str, Sequence[float | None]]]
) -> tuple[list[RankInterval | None], list[dict[str, Interval] | None]]:
    """Per row: the 95% interval of its rank and of each style mean and Averaged, for
    verified, ranked rows with all four styles scored (``scores``: submission id ->
    per-style image scores); None for the others.

    Every model is resampled with the same seed, so a resample draws the same prompt
    indices for all models of equal size: a paired bootstrap, as in head-to-head."""
    values = [None if r["partial"] else r["averaged"] for r in rows]
    resampled, means = {}, [None] * len(rows)
    for i, r in enumerate(rows):
        if values[i] is not None and r["submission_id"] in scores:
            by_style = resampled_style_means(scores[r["submission_id"]])
            if by_style is not None:
                resampled[i] = averaged_samples(by_style)
                means[i] = sample_intervals(by_style)
    return rank_intervals(values, resampled), means


def assemble(
    rows: Sequence[dict],
    intervals: Sequence[RankInterval | None],
    means: Sequence[dict[str, Interval] | None] | None = None,
    *,
    include_partial: bool = False,
    verified_only: bool = False,
    tolerance: float = DEFAULT_TOLERANCE,
) -> list[LeaderboardRow]:
    """Rank all rows of the version and pair reported rows with their verified twins, then
    filter: best first, partial rows last."""
    ranks = rank_rows([None if r["partial"] else r["averaged"] for r in rows])
    tied = ties(intervals)
    means = means or [None] * len(rows)
    every = [
        LeaderboardRow(
            rank=rank,
            rank_low=ci.low if ci else None,
            rank_high=ci.high if ci else None,
            tied=is_tied,
            mean_ci=mean_ci,
            **r,
        )
        for r, rank, ci, is_tied, mean_ci in zip(rows, ranks, intervals, tied, means)
    ]
    out = [
        r
        for r in attach_reproductions(every, tolerance)
        if (include_partial or not r.partial) and (not verified_only or r.kind == m.KIND_VERIFIED)
    ]
    out.sort(
        key=lambda r: (
            r.rank is None,
            r.rank or 0,
            -(r.averaged if r.averaged is not None else float("-inf")),
            r.model,
        )
    )
    return out


def verified_rows(conn: Connection, version: str) -> list[dict]:
    s, md, sr = m.submissions, m.models, m.style_results
    query = (
        select(s, md.c.name, md.c.link, md.c.organisation)
        .join(md, md.c.id == s.c.model_id)
        .where(s.c.version == version, s.c.status == m.DONE, s.c.hidden.is_(False))
    )
    subs = conn.execute(query).mappings().all()
    ids = [r["id"] for r in subs]
    results: dict[int, dict[str, StyleStats]] = {i: {} for i in ids}
    if ids:
        for r in conn.execute(select(sr).where(sr.c.submission_id.in_(ids))).mappings():
            results[r["submission_id"]][r["style"]] = StyleStats(r["mean"], r["std"], r["n"])
    prompt_digests = _prompt_digests(conn, ids)
    # a row with an image its job could not score is incomplete: shown as partial, unranked
    with_failures = (
        set(
            conn.scalars(
                select(m.image_failures.c.submission_id)
                .where(m.image_failures.c.submission_id.in_(ids))
                .distinct()
            )
        )
        if ids
        else set()
    )
    rows = []
    for sub in subs:
        styles = {st: results[sub["id"]].get(st) for st in STYLES}
        avg = averaged({st: styles[st].mean if styles[st] else None for st in STYLES})
        rows.append(
            dict(
                submission_id=sub["id"],
                model_id=sub["model_id"],
                model=sub["name"],
                link=sub["link"],
                organisation=sub["organisation"],
                version=version,
                kind=m.KIND_VERIFIED,
                partial=bool(sub["partial"]) or sub["id"] in with_failures,
                styles=styles,
                averaged=avg,
                n_images=sum(st.n for st in styles.values() if st),
                created_at=aware(sub["created_at"]),
                status=sub["status"],
                official_prompts=prompt_digests.get(sub["id"]) == OFFICIAL_PROMPT_SHA256,
            )
        )
    return rows


def _prompt_digests(conn: Connection, ids: list[int]) -> dict[int, dict[str, str]]:
    """submission id -> {style: sha256 of the prompt list it was scored on}."""
    sps, ps = m.submission_prompt_sets, m.prompt_sets
    out: dict[int, dict[str, str]] = {i: {} for i in ids}
    if ids:
        query = (
            select(sps.c.submission_id, sps.c.style, ps.c.sha256)
            .join(ps, ps.c.id == sps.c.prompt_set_id)
            .where(sps.c.submission_id.in_(ids))
        )
        for sub_id, style, digest in conn.execute(query):
            out[sub_id][style] = digest
    return out


def reported_rows(conn: Connection, version: str) -> list[dict]:
    rr, md = m.reported_results, m.models
    query = (
        select(rr, md.c.name, md.c.link, md.c.organisation)
        .join(md, md.c.id == rr.c.model_id)
        .where(rr.c.version == version)
        .order_by(rr.c.id)
    )
    by_model: dict[int, dict] = {}
    for r in conn.execute(query).mappings():
        row = by_model.setdefault(r["model_id"], {"meta": r, "values": {}})
        row["values"][r["column"]] = r["mean"]
    rows = []
    for entry in by_model.values():
        meta, values = entry["meta"], entry["values"]
        # The published tables are on the full benchmark; they give no std.
        styles = {
            st: StyleStats(values[st], None, PROMPTS_PER_STYLE) if st in values else None
            for st in STYLES
        }
        rows.append(
            dict(
                submission_id=None,
                model_id=meta["model_id"],
                model=meta["name"],
                link=meta["link"],
                organisation=meta["organisation"],
                version=version,
                kind=m.KIND_REPORTED,
                partial=any(v is None for v in styles.values()),
                styles=styles,
                averaged=values.get("averaged"),
                n_images=sum(st.n for st in styles.values() if st),
                created_at=None,
                status=m.DONE,
            )
        )
    return rows
