"""Reported rows and their verified twins: pairing, differences, the reproduced mark, the
store's leaderboard and the export carrying both."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leaderboard.export import from_csv, to_csv, to_json
from leaderboard.identity import ModelNameTaken
from leaderboard.records import LeaderboardRow
from leaderboard.reproduction import attach_reproductions, find_reproductions, reproductions
from leaderboard.seed import load_published
from scorer.prompts import load_prompt_sets
from scorer.protocol import STYLES, StyleStats
from submissions import Worker, submit
from tests.conftest import build_benchmark


def row(kind, model_id, values, *, sid=None, partial=False, day=1, model="M"):
    styles = {s: StyleStats(v, None if kind == "reported" else 0.1, 800) for s, v in values.items()}
    return LeaderboardRow(
        submission_id=sid, model=model, link=None, organisation=None, version="v2.1",
        kind=kind, partial=partial, styles=styles,
        averaged=sum(values.values()) / len(values), rank=None, n_images=3200,
        created_at=datetime(2026, 1, day, tzinfo=UTC) if kind == "verified" else None,
        status="done", model_id=model_id,
    )  # fmt: skip


REPORTED = {"anime": 28.0, "concept-art": 27.5, "paintings": 27.25, "photo": 27.0}


def shifted(by: dict[str, float]) -> dict[str, float]:
    return {s: REPORTED[s] + by.get(s, 0.0) for s in STYLES}


def test_pairs_by_model_with_differences_and_mark():
    rows = [
        row("reported", 1, REPORTED),
        row("verified", 1, shifted({"anime": 0.1, "photo": -0.05}), sid=10, day=1),
        row("verified", 1, shifted({"photo": 0.3}), sid=11, day=2),  # newer: the twin
        row("verified", 1, shifted({}), sid=12, day=3, partial=True),  # partial: never a twin
        row("reported", 2, REPORTED, model="N"),  # no verified row: no pair
        row("verified", 3, REPORTED, sid=13, model="O"),  # no reported row: no pair
    ]
    found = find_reproductions(rows)
    assert set(found) == {1}
    rep = found[1]
    assert rep.submission_id == 11
    assert rep.difference["photo"] == pytest.approx(0.3)
    assert rep.difference["anime"] == pytest.approx(0.0)
    assert rep.difference["averaged"] == pytest.approx(0.3 / 4)
    assert not rep.reproduced and rep.worst == ("photo", pytest.approx(0.3))

    marked = attach_reproductions(rows)
    carriers = [(r.kind, r.submission_id) for r in marked if r.reproduction]
    assert carriers == [("reported", None), ("verified", 11)]
    assert reproductions(marked) == [rep]


def test_reproduced_within_tolerance_inclusive():
    rows = [row("reported", 1, REPORTED), row("verified", 1, shifted({"anime": 0.1}), sid=5)]
    (rep,) = find_reproductions(rows).values()
    assert rep.reproduced  # 28.1 - 28.0 is 0.1 as printed, though not in binary
    (strict,) = find_reproductions(rows, tolerance=0.05).values()
    assert not strict.reproduced
    missing = row("verified", 1, {s: REPORTED[s] for s in STYLES[:3]}, sid=6)
    (rep,) = find_reproductions([rows[0], missing]).values()
    assert rep.difference["photo"] is None and not rep.reproduced


def test_export_carries_both_and_round_trips():
    rows = attach_reproductions(
        [row("reported", 1, REPORTED), row("verified", 1, shifted({"paintings": -0.2}), sid=7)]
    )
    back = from_csv(to_csv(rows))
    for exported, original in zip(back, rows):
        pair = exported["reproduction"]
        assert pair["reproduced"] is False
        assert pair["difference"]["paintings"] == pytest.approx(-0.2)
        expected = original.reproduction.as_dict()
        for part in ("reported", "verified", "difference"):
            assert pair[part] == pytest.approx(expected[part])
    assert '"reproduced": false' in to_json(rows)


def test_store_links_a_verified_run_to_the_published_row(tmp_path, store, tiny_scorer):
    published = {r["model"]: r for r in load_published()["tables"]["v2.1"]}
    prompts = load_prompt_sets(store.settings.prompts, expect_count=False)
    submit(
        store,
        build_benchmark(tmp_path / "b", 12),
        model="GLIDE",
        settings=store.settings,
        prompts=prompts,
        reproduction=True,
    )
    # only a reproduction joins a published model, and only a published one
    with pytest.raises(ModelNameTaken, match="is the published model 'GLIDE'"):
        submit(store, build_benchmark(tmp_path / "c", 12, seed=3), model="GLIDE",
               settings=store.settings, prompts=prompts)  # fmt: skip
    with pytest.raises(ModelNameTaken, match="'glide' is not a published model"):
        submit(store, build_benchmark(tmp_path / "d", 12, seed=4), model="glide",
               settings=store.settings, prompts=prompts, reproduction=True)  # fmt: skip
    worker = Worker(store, store.settings, lambda version: tiny_scorer)
    while worker.run_once():
        pass
    (rep,) = store.reproductions("v2.1")
    assert rep.model == "GLIDE"
    verified = next(r for r in store.leaderboard("v2.1") if r.kind == "verified")
    assert rep.submission_id == verified.submission_id
    for style in STYLES:
        assert rep.reported[style] == published["GLIDE"][style]
        assert rep.verified[style] == verified.styles[style].mean
        assert rep.difference[style] == pytest.approx(
            verified.styles[style].mean - published["GLIDE"][style]
        )
    # the tiny random model is far from GLIDE's published figures
    assert not rep.reproduced
    twins = [r for r in store.leaderboard("v2.1") if r.reproduction is not None]
    assert sorted(r.kind for r in twins) == ["reported", "verified"]
    only_verified = store.leaderboard("v2.1", verified_only=True)
    assert only_verified[0].reproduction == rep
    assert store.reproductions("v2.0") == []  # versions are never mixed
