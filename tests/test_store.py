"""The store on a real database: SQLite file in tmp_path, and PostgreSQL when
HPS_TEST_POSTGRES_URL is set (see scripts/start_test_postgres.sh)."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import timedelta

import pytest
import torch
from sqlalchemy import func, select, text

from leaderboard import InvalidTransition, Store, SubmissionNotFound
from leaderboard import models as m
from leaderboard.db import head_revision
from leaderboard.models import utcnow
from leaderboard.seed import SEED_FILE
from scorer.errors import CheckpointError, ConfigError
from scorer.prompts import load_prompt_sets
from submissions import SubmissionRejected, Worker, jobs, submit
from tests.conftest import build_benchmark, zip_tree

STYLES = ("anime", "concept-art", "paintings", "photo")


def seed_published_count() -> int:
    """Figures in the published tables, counted from the seed file itself."""
    tables = json.loads(SEED_FILE.read_text())["tables"]
    return sum(
        row.get(col) is not None
        for rows in tables.values()
        for row in rows
        for col in (*STYLES, "averaged")
    )


@pytest.fixture
def prompts(store_settings):
    return load_prompt_sets(store_settings.prompts, expect_count=False)


@pytest.fixture
def factory(tiny_scorer):
    """The scorer factory, handing out the session's tiny scorer (same checkpoint file as
    store_settings.checkpoint), so tests do not reload it."""
    return lambda version: tiny_scorer


def do_submit(store, folder, prompts, model="model-a", **kw):
    return submit(store, folder, model=model, settings=store.settings, prompts=prompts, **kw)


def test_schema_is_migrated_once_and_published_rows_seeded(store_settings):
    with Store.open(store_settings) as store:
        pass
    with Store.open(store_settings) as store:  # second start: nothing applied twice
        with store.engine.connect() as conn:
            revisions = conn.scalars(text("SELECT version_num FROM alembic_version")).all()
            reported = conn.scalar(select(func.count()).select_from(m.reported_results))
        assert revisions == [head_revision()]
        assert reported == seed_published_count()  # seeded once, not once per start
        for version in ("v2.0", "v2.1"):
            rows = store.leaderboard(version)
            assert len(rows) == 22
            assert {r.kind for r in rows} == {"reported"}
            assert all(r.submission_id is None and r.rank is not None for r in rows)
            assert all(st.std is None for r in rows for st in r.styles.values())
        published = json.loads(SEED_FILE.read_text())
        top = max(published["tables"]["v2.1"], key=lambda r: r["averaged"])
        with pytest.raises(ConfigError, match="v2.0, v2.1"):
            store.leaderboard("v3")
        first = store.leaderboard("v2.1")[0]
        assert first.model == top["model"] and first.averaged == top["averaged"]
        assert first.styles["photo"].mean == top["photo"]


def test_submit_score_and_leaderboard_row(tmp_path, store, prompts, factory, tiny_scorer):
    folder = build_benchmark(tmp_path / "bench", 12)
    result = do_submit(store, folder, prompts, link="https://example.org/a", organisation="Org")
    assert result.status == "queued" and not result.duplicate and result.report.complete
    stored = store.submission_folder(result.submission_id)
    assert sorted(p.name for p in (stored / "anime").iterdir())[:2] == ["00000.png", "00001.png"]
    assert store.prompts(result.submission_id) == prompts.styles  # by position, duplicates kept

    assert Worker(store, store.settings, factory).run_once()
    info = store.get_submission(result.submission_id)
    assert info.status == "done" and info.images_done == info.images_total == 48
    assert info.precision == "fp32" and info.checkpoint_sha256 == tiny_scorer.checkpoint_sha256
    assert set(info.software) == {"torch", "open_clip", "hps_leaderboard"}

    # Independent reference: score each image directly; 12 prompts = one chunk, so the style
    # mean is the plain mean and the std of one chunk mean is 0.
    row = next(r for r in store.leaderboard("v2.1") if r.submission_id == result.submission_id)
    assert row.kind == "verified" and row.rank is not None and row.n_images == 48
    assert row.model == "model-a" and row.link == "https://example.org/a"
    means = {}
    for style in STYLES:
        direct = [
            tiny_scorer.score([folder / style / f"{i:05d}.png"], prompts.styles[style][i])[0]
            for i in range(12)
        ]
        means[style] = sum(direct) / 12
        assert row.styles[style].mean == pytest.approx(means[style], abs=1e-4)
        assert row.styles[style].std == pytest.approx(0.0, abs=1e-9)
        assert store.image_scores(result.submission_id)[style] == pytest.approx(direct, abs=1e-4)
    assert row.averaged == pytest.approx(sum(means.values()) / 4, abs=1e-4)
    assert store.progress(result.submission_id).eta_s == 0.0

    # The job persisted its prompts' text embeddings: a fresh scorer of the same checkpoint
    # finds every distinct prompt there, and they equal a fresh encoding.
    from scorer import load_scorer
    from scorer.textcache import load_text_cache

    fresh = load_scorer(
        checkpoint=str(tiny_scorer.checkpoint_path), arch=tiny_scorer.arch, device="cpu"
    )
    wanted = [p for style in STYLES for p in prompts.styles[style]]
    assert load_text_cache(fresh, wanted, store.data_path / "text_cache") == len(set(wanted))
    cached = fresh.cached_text_embeddings(wanted)
    reference = tiny_scorer.encode_texts(list(cached))
    torch.testing.assert_close(torch.stack(list(cached.values())), reference, atol=1e-5, rtol=0)


def test_identical_content_is_not_scored_twice(tmp_path, store, prompts, factory):
    folder = build_benchmark(tmp_path / "bench", 12)
    first = do_submit(store, folder, prompts)
    Worker(store, store.settings, factory).run_once()
    again = do_submit(store, zip_tree(folder, tmp_path / "b.zip", prefix="out/"), prompts, "x")
    assert again.duplicate and again.submission_id == first.submission_id
    assert again.status == "done"
    assert any("already submitted" in w for w in again.report.warnings)
    assert len(store.list_submissions()) == 1
    assert not Worker(store, store.settings, factory).run_once()  # nothing queued

    other = do_submit(store, build_benchmark(tmp_path / "b2", 12, seed=5), prompts)
    assert not other.duplicate and other.submission_id != first.submission_id
    v20 = do_submit(store, folder, prompts, version="v2.0")  # other version: scored anew
    assert not v20.duplicate


def test_partial_is_stored_never_ranked(tmp_path, store, prompts, factory):
    folder = build_benchmark(tmp_path / "bench", 12, skip={"photo": range(12)})
    with pytest.raises(SubmissionRejected):
        do_submit(store, folder, prompts)
    result = do_submit(store, folder, prompts, partial=True)
    Worker(store, store.settings, factory).run_once()
    info = store.get_submission(result.submission_id)
    assert info.status == "done" and info.partial and info.images_total == 36
    assert all(r.submission_id != result.submission_id for r in store.leaderboard("v2.1"))
    row = next(
        r
        for r in store.leaderboard("v2.1", include_partial=True)
        if r.submission_id == result.submission_id
    )
    assert row.partial and row.rank is None and row.averaged is None
    assert row.styles["photo"].mean is None and row.styles["anime"].n == 12
    assert store.image_scores(result.submission_id)["photo"] == [None] * 12


def test_admin_hide_delete_and_retry(tmp_path, store, prompts, factory):
    folder = build_benchmark(tmp_path / "bench", 12)
    sid = do_submit(store, folder, prompts).submission_id

    def broken(version):
        raise CheckpointError("no checkpoint for the test")

    assert Worker(store, store.settings, broken).run_once()
    info = store.get_submission(sid)
    assert info.status == "failed" and "no checkpoint for the test" in info.error
    again = do_submit(store, folder, prompts)  # the same content again: retried, not doubled
    assert again.duplicate and again.submission_id == sid and again.status == "queued"
    store.cancel(sid)
    assert store.get_submission(sid).status == "cancelled"
    with pytest.raises(InvalidTransition):
        store.cancel(sid)
    store.requeue(sid)
    assert store.get_submission(sid).status == "queued"
    with pytest.raises(InvalidTransition):
        store.requeue(sid)
    Worker(store, store.settings, factory).run_once()
    assert store.get_submission(sid).status == "done"
    assert store.get_submission(sid).error is None

    store.hide_submission(sid)
    assert all(r.submission_id != sid for r in store.leaderboard("v2.1"))
    assert store.list_submissions() == [] and len(store.list_submissions(include_hidden=True)) == 1
    store.hide_submission(sid, hidden=False)
    assert any(r.submission_id == sid for r in store.leaderboard("v2.1"))

    store.delete_submission(sid)
    assert not store.submission_folder(sid).exists()
    with pytest.raises(SubmissionNotFound):
        store.get_submission(sid)
    assert store.count_scores(sid) == 0


def fake_submissions(store, prompts, count):
    ids = []
    for k in range(count):
        sid, _ = store.create_submission(
            model=f"fake-{k}",
            version="v2.1",
            content_hash=f"{k:064x}",
            checkpoint_sha256="pending:v2.1",
            prompts=prompts.styles,
            prompts_source="test",
            partial=False,
            images_total=48,
        )
        ids.append(sid)
    return ids


def test_concurrent_claims_never_share_a_job(store, prompts):
    ids = fake_submissions(store, prompts, 12)
    claimed: dict[str, list[int]] = {"w1": [], "w2": [], "w3": []}
    start = threading.Barrier(3)

    def run(name):
        start.wait()
        while (c := jobs.claim(store, name, lease_s=300)) is not None:
            claimed[name].append(c.submission_id)

    threads = [threading.Thread(target=run, args=(n,)) for n in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [i for v in claimed.values() for i in v]
    assert sorted(everything) == sorted(ids)  # each job claimed exactly once
    assert all(store.get_submission(i).attempts == 1 for i in ids)


def test_lease_expiry_reclaims_and_fences_the_old_worker(store, prompts):
    (sid,) = fake_submissions(store, prompts, 1)
    old = jobs.claim(store, "old", lease_s=60)
    assert jobs.claim(store, "new", lease_s=60) is None  # heartbeat is fresh
    assert jobs.save_batch(store, old, [("anime", 0, 1.5)])
    later = utcnow() + timedelta(seconds=61)
    new = jobs.claim(store, "new", lease_s=60, now=later)
    assert new.submission_id == sid and new.attempt == old.attempt + 1
    assert not jobs.save_batch(store, old, [("anime", 1, 2.5)])  # fenced out
    assert jobs.save_batch(store, new, [("anime", 1, 2.5)])
    assert jobs.scored_keys(store, sid) == {("anime", 0), ("anime", 1)}
    progress = store.progress(sid)
    assert (progress.status, progress.done, progress.total) == ("running", 2, 48)
    store.cancel(sid)
    assert not jobs.save_batch(store, new, [("anime", 2, 0.0)])
    assert store.get_submission(sid).status == "cancelled"


def test_two_workers_never_score_the_same_job(tmp_path, store, prompts, factory):
    ids = [
        do_submit(store, build_benchmark(tmp_path / f"b{k}", 12, seed=k), prompts).submission_id
        for k in range(4)
    ]
    workers = [Worker(store, store.settings, factory, worker_id=f"w{k}") for k in range(2)]
    barrier = threading.Barrier(2)

    def drain(worker):
        barrier.wait()
        while worker.run_once():
            pass

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for sid in ids:
        info = store.get_submission(sid)
        assert info.status == "done" and info.attempts == 1 and info.images_done == 48
        with store.engine.connect() as conn:
            attempts = conn.scalars(
                select(m.image_scores.c.attempt).where(m.image_scores.c.submission_id == sid)
            ).all()
        assert len(attempts) == 48 and set(attempts) == {1}


def test_checkpoint_recorded_by_the_worker_when_pending(tmp_path, store, prompts, factory):
    # No checkpoint configured and none in the hub cache: the digest is pending until a
    # worker loads one.
    no_ckpt = store.settings.replace(checkpoint="")
    folder = build_benchmark(tmp_path / "bench", 12)
    sid = submit(store, folder, model="p", settings=no_ckpt, prompts=prompts).submission_id
    assert store.get_submission(sid).checkpoint_sha256 == "pending:v2.1"
    Worker(store, store.settings, factory).run_once()
    info = store.get_submission(sid)
    assert info.status == "done"
    assert info.checkpoint_sha256 == factory("v2.1").checkpoint_sha256


def test_a_different_checkpoint_fails_the_job_with_its_reason(tmp_path, store, prompts):
    from scorer.tiny import make_tiny_checkpoint

    folder = build_benchmark(tmp_path / "bench", 12)
    sid = do_submit(store, folder, prompts).submission_id
    other_ckpt, other_arch = make_tiny_checkpoint(tmp_path / "other", seed=1)
    other = store.settings.replace(checkpoint=str(other_ckpt), arch=str(other_arch))
    Worker(store, other).run_once()  # the default factory loads the other checkpoint
    info = store.get_submission(sid)
    assert info.status == "failed" and "HPS_CHECKPOINT differs" in info.error
    assert store.count_scores(sid) == 0


def test_graceful_stop_releases_the_job_and_rescore_starts_over(tmp_path, store, prompts, factory):
    folder = build_benchmark(tmp_path / "bench", 12)
    sid = do_submit(store, folder, prompts).submission_id
    slow = store.settings.replace(worker_pause_ms=200)
    stop = threading.Event()
    thread = threading.Thread(target=Worker(store, slow, factory).run_forever, args=(stop,))
    thread.start()
    deadline = time.monotonic() + 120
    while store.get_submission(sid).images_done < 8:
        assert time.monotonic() < deadline, "the worker scored nothing in 120 s"
        time.sleep(0.02)
    stop.set()
    thread.join(timeout=60)
    info = store.get_submission(sid)
    assert info.status == "queued" and 8 <= info.images_done < 48  # kept, back in the queue
    Worker(store, store.settings, factory).run_once()
    assert store.get_submission(sid).status == "done"
    first = store.image_scores(sid)

    store.requeue(sid)  # a finished job: rescored from scratch
    assert store.count_scores(sid) == 0 and store.get_submission(sid).status == "queued"
    Worker(store, store.settings, factory).run_once()
    assert store.image_scores(sid) == first  # same model, same images: same scores


def test_processes_starting_at_once_migrate_and_seed_once(store_settings):
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def start():
        try:
            barrier.wait()
            Store.open(store_settings).close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Store.open(store_settings) as store:
        with store.engine.connect() as conn:
            assert conn.scalars(text("SELECT version_num FROM alembic_version")).all() == [
                head_revision()
            ]
            assert (
                conn.scalar(select(func.count()).select_from(m.reported_results))
                == seed_published_count()
            )
        assert len(store.leaderboard("v2.0")) == 22


def test_stale_staging_folders_are_removed(tmp_path, store, prompts):
    root = store.data_path / "submissions"
    old, fresh = root / ".staging-old", root / ".staging-fresh"
    for folder in (old, fresh):
        folder.mkdir(parents=True)
        (folder / "x.png").write_bytes(b"x")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(old, (two_days_ago, two_days_ago))
    do_submit(store, build_benchmark(tmp_path / "bench", 12), prompts)
    assert not old.exists() and fresh.exists()  # another submit may be using a fresh one


# --- model identity (issue 9) --------------------------------------------------------------
def _reported_link(store, name):
    md = m.models
    with store.engine.connect() as conn:
        return conn.execute(select(md.c.link, md.c.organisation).where(md.c.name == name)).one()


@pytest.mark.parametrize(
    "name",
    [
        "SDXL Refiner 0.9",
        "sdxl  REFINER 0.9",
        "ＳＤＸＬ Ｒｅｆｉｎｅｒ ０.９",
        "SDXL\u200b Refiner 0.9",
    ],
)
def test_published_models_cannot_be_claimed(tmp_path, store, prompts, name):
    from leaderboard.identity import ModelNameTaken

    one = build_benchmark(tmp_path / "one", 1)
    with pytest.raises(ModelNameTaken, match="published model 'SDXL Refiner 0.9'"):
        do_submit(
            store, one, prompts, model=name, partial=True,
            link="https://evil.example/x", organisation="Stability AI (official)",
        )  # fmt: skip
    assert tuple(_reported_link(store, "SDXL Refiner 0.9")) == (None, None)
    assert store.list_submissions() == []
    rows = [r for r in store.leaderboard("v2.1", include_partial=True) if r.link]
    assert rows == []


def test_existing_models_keep_their_link_and_lookalikes_are_refused(tmp_path, store, prompts):
    from leaderboard.identity import ModelNameTaken

    first = do_submit(
        store, build_benchmark(tmp_path / "a", 12), prompts, model="Acme XL",
        link="https://acme.example/xl", organisation="Acme",
    )  # fmt: skip
    second = build_benchmark(tmp_path / "b", 12, seed=3)
    with pytest.raises(ModelNameTaken, match="cannot change its link, organisation"):
        do_submit(
            store, second, prompts, model="Acme XL", link="https://evil.example",
            organisation="Acme (official)",
        )  # fmt: skip
    for lookalike in ("acme xl", "Acme\u00a0XL", "ＡｃｍｅＸＬ"):
        with pytest.raises(ModelNameTaken, match="too close to the existing model 'Acme XL'"):
            do_submit(store, second, prompts, model=lookalike)
    # the same name with nothing to change: one more result of that model, its own row
    again = do_submit(store, second, prompts, model="Acme XL")
    assert again.submission_id != first.submission_id
    for sid in (first.submission_id, again.submission_id):
        info = store.get_submission(sid)
        assert (info.link, info.organisation) == ("https://acme.example/xl", "Acme")
    # deleting every submission of a model frees its name
    store.delete_submission(first.submission_id)
    store.delete_submission(again.submission_id)
    third = do_submit(store, second, prompts, model="acme xl", link="https://new.example")
    assert store.get_submission(third.submission_id).link == "https://new.example"


@pytest.mark.parametrize(
    "link",
    ["javascript:alert(1)", "https://", "ftp://files.example/x", "https://a b.example", "//x.org"],
)
def test_links_must_be_web_addresses(tmp_path, store, prompts, link):
    from leaderboard.identity import InvalidLink

    with pytest.raises(InvalidLink, match="not a web address"):
        do_submit(store, build_benchmark(tmp_path / "a", 12), prompts, model="m", link=link)
    assert store.list_submissions() == []


# --- a bad image never sinks a job (issue 9) ---------------------------------------------
def test_a_bad_image_is_recorded_and_the_rest_scored(tmp_path, store, prompts, factory):
    from PIL import Image

    folder = build_benchmark(tmp_path / "bench", 12)
    sid = do_submit(store, folder, prompts).submission_id
    stored = store.submission_folder(sid)
    # files changed on disk after intake: a strip too thin to resize, and garbage
    original = (stored / "anime" / "00003.png").read_bytes()
    Image.new("RGB", (40_000, 1)).save(stored / "anime" / "00003.png")
    (stored / "photo" / "00007.png").write_bytes(b"not a png any more")

    assert Worker(store, store.settings, factory).run_once()
    info = store.get_submission(sid)
    assert info.status == "done" and info.images_done == 46 and info.images_total == 48
    assert "2 of 48 images could not be scored" in info.error
    assert "anime/00003.png: 40000x1 is too thin" in info.error and "photo/00007.png" in info.error
    failures = dict(store.image_failures(sid))
    assert set(failures) == {"anime/00003.png", "photo/00007.png"}
    scores = store.image_scores(sid)
    assert scores["anime"][3] is None and scores["photo"][7] is None
    assert sum(v is not None for s in STYLES for v in scores[s]) == 46
    [row] = [r for r in store.leaderboard("v2.1", include_partial=True) if r.submission_id == sid]
    assert row.partial and row.rank is None  # incomplete: shown, never ranked
    assert all(r.submission_id != sid for r in store.leaderboard("v2.1"))

    # resolved: the file is put back and the job retried; only the failed images are scored
    before = {k: v for k, v in _score_rows(store, sid).items()}
    (stored / "anime" / "00003.png").write_bytes(original)
    (stored / "photo" / "00007.png").write_bytes(original)
    store.requeue(sid)
    assert Worker(store, store.settings, factory).run_once()
    info = store.get_submission(sid)
    assert info.status == "done" and info.error is None and info.images_done == 48
    assert store.image_failures(sid) == []
    after = _score_rows(store, sid)
    assert all(after[k] == v for k, v in before.items())  # kept, not rescored
    [row] = [r for r in store.leaderboard("v2.1") if r.submission_id == sid]
    assert not row.partial and row.rank is not None


def _score_rows(store, sid):
    t = m.image_scores
    with store.engine.connect() as conn:
        query = select(t.c.style, t.c.prompt_index, t.c.score, t.c.attempt).where(
            t.c.submission_id == sid
        )
        return {(r.style, r.prompt_index): (r.score, r.attempt) for r in conn.execute(query)}
