"""``python -m leaderboard export``: JSON rows as specified, CSV round-trip."""

from __future__ import annotations

import json

import pytest

from leaderboard.__main__ import main
from leaderboard.export import from_csv
from scorer.prompts import load_prompt_sets
from submissions import Worker, submit
from tests.conftest import build_benchmark

# The row keys, plus whether the row was scored on the official prompt lists, the
# rank interval, and the reported/verified pair of a published model with a verified twin.
KEYS = {
    "model", "version", "kind", "partial", "styles", "averaged", "rank", "rank_ci", "tied",
    "official_prompts", "reproduction",
}  # fmt: skip


@pytest.fixture
def scored_store(tmp_path, store, tiny_scorer, monkeypatch):
    prompts = load_prompt_sets(store.settings.prompts, expect_count=False)
    for k, skip in enumerate([{}, {"photo": {3}}]):
        submit(
            store,
            build_benchmark(tmp_path / f"b{k}", 12, seed=k, skip=skip),
            model=f"tiny-{k}",
            settings=store.settings,
            prompts=prompts,
            partial=bool(skip),
        )
    worker = Worker(store, store.settings, lambda version: tiny_scorer)
    while worker.run_once():
        pass
    monkeypatch.setenv("HPS_DATA_DIR", store.settings.data_dir)
    monkeypatch.setenv("HPS_DATABASE_URL", store.settings.database_url)
    return store


def test_json_export_rows(tmp_path, scored_store):
    out = tmp_path / "lb.json"
    assert main(["export", "--format", "json", "--version", "v2.1", "-o", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert all(set(r) == KEYS for r in rows)
    assert len(rows) == 23  # 22 reported + 1 complete verified; the partial one left out
    verified = [r for r in rows if r["kind"] == "verified"]
    assert [r["model"] for r in verified] == ["tiny-0"]
    assert set(verified[0]["styles"]["anime"]) == {"mean", "std", "n"}
    assert verified[0]["styles"]["anime"]["n"] == 12
    expected = [r.as_dict() for r in scored_store.leaderboard("v2.1")]
    assert rows == expected
    ranks = [r["rank"] for r in rows]
    assert ranks == sorted(ranks) and ranks[0] == 1

    assert main(["export", "--format", "json", "--include-partial", "-o", str(out)]) == 0
    partial = [r for r in json.loads(out.read_text()) if r["partial"]]
    assert [r["model"] for r in partial] == ["tiny-1"] and partial[0]["rank"] is None


def test_csv_round_trip(tmp_path, scored_store):
    as_json, as_csv = tmp_path / "lb.json", tmp_path / "lb.csv"
    flags = ["--version", "v2.1", "--include-partial"]
    assert main(["export", "--format", "json", *flags, "-o", str(as_json)]) == 0
    assert main(["export", "--format", "csv", *flags, "-o", str(as_csv)]) == 0
    from_json = json.loads(as_json.read_text())
    back = from_csv(as_csv.read_text())
    assert len(back) == len(from_json) == 24
    for a, b in zip(back, from_json):
        assert a["model"] == b["model"] and a["kind"] == b["kind"] and a["rank"] == b["rank"]
        assert a["partial"] == b["partial"]
        assert a["averaged"] == pytest.approx(b["averaged"])
        for style, stats in b["styles"].items():
            if stats is None:
                assert a["styles"][style] is None
            else:
                assert a["styles"][style] == pytest.approx(stats)


def test_csv_defuses_formulas_and_restores_them():
    from datetime import UTC, datetime

    from leaderboard.export import to_csv
    from leaderboard.records import LeaderboardRow
    from scorer.protocol import STYLES, StyleStats

    row = LeaderboardRow(
        submission_id=1, model="=HYPERLINK(1)", link="+x", organisation="-org", version="v2.1",
        kind="verified", partial=False, styles={s: StyleStats(-1.5, 0.1, 80) for s in STYLES},
        averaged=-1.5, rank=1, n_images=320, created_at=datetime(2026, 1, 2, tzinfo=UTC),
        status="done", official_prompts=False,
    )  # fmt: skip
    text = to_csv([row])
    assert "'=HYPERLINK(1)" in text and "'+x" in text and "'-org" in text
    assert ",-1.5," in text  # numbers are not touched
    (back,) = from_csv(text)
    assert back["model"] == "=HYPERLINK(1)" and back["official_prompts"] is False
    assert back["styles"]["anime"] == {"mean": -1.5, "std": 0.1, "n": 80}
