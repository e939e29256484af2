"""The leaderboard of one version: verified rows (scored here) and reported rows (the
published tables), ranked together by Averaged; partial rows are never ranked. A reported
row and its verified twin (same model) both carry the pair (:mod:`.reproduction`)."""

from __future__ import annotations

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
from .stats import rank_rows


def build_leaderboard(
    conn: Connection,
    version: str,
    *,
    include_partial: bool = False,
    verified_only: bool = False,
    tolerance: float = DEFAULT_TOLERANCE,
) -> list[LeaderboardRow]:
    rows = verified_rows(conn, version)
    reported = reported_rows(conn, version)
    if not verified_only:
        rows += reported
    if not include_partial:
        rows = [r for r in rows if not r["partial"]]
    ranks = rank_rows([None if r["partial"] else r["averaged"] for r in rows])
    out = [LeaderboardRow(rank=rank, **r) for r, rank in zip(rows, ranks)]
    twins = [LeaderboardRow(rank=None, **r) for r in reported] if verified_only else []
    out = attach_reproductions(out + twins, tolerance)[: len(out)]
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
