"""Backups of the SQLite database to a hub dataset and the restore at start.

The only fake is the network: the upload function is replaced by one that writes into a
huggingface_hub cache laid out as the library lays it out (``datasets--o--n/refs/main``,
``snapshots/<sha>/<file>``), and the restore reads it back through the real
``hf_hub_download`` in offline mode."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from leaderboard import Store
from leaderboard.backup import SNAPSHOT_FILE, Backup, restore, snapshot, sqlite_file
from scorer.prompts import load_prompt_sets
from submissions import submit
from submissions.worker import Worker
from tests.conftest import REPO, build_benchmark, zip_tree

REPO_ID = "someone/hps-backup"
PER_STYLE = 12


class HubFolder:
    """The network, replaced: uploads land in a local huggingface_hub cache."""

    def __init__(self, cache: Path) -> None:
        self.cache = cache
        self.uploads: list[tuple[str, str, str | None]] = []
        self.fail_with: Exception | None = None

    def __call__(self, file: Path, repo: str, path_in_repo: str, token: str | None) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        data = Path(file).read_bytes()
        sha = hashlib.sha1(data + str(len(self.uploads)).encode()).hexdigest()  # a commit
        repo_dir = self.cache / f"datasets--{repo.replace('/', '--')}"
        blob = repo_dir / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        target = repo_dir / "snapshots" / sha / path_in_repo
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(blob)
        (repo_dir / "refs").mkdir(exist_ok=True)
        (repo_dir / "refs" / "main").write_text(sha)
        self.uploads.append((repo, path_in_repo, token))


@pytest.fixture
def backed_up(tmp_path, app_settings):
    settings = app_settings.replace(
        backup_repo=REPO_ID,
        backup_token="hf_test",
        hub_cache=str(tmp_path / "hub"),
        prompts=str(tmp_path / "prompts.json"),
        batch_size=4,
        worker_pause_ms=40,
    )
    from tests.conftest import write_prompts

    write_prompts(Path(settings.prompts), PER_STYLE)
    return settings


def submitted(tmp_path, store, settings) -> int:
    prompts = load_prompt_sets(settings.prompts, expect_count=False)
    upload = zip_tree(build_benchmark(tmp_path / "bench", PER_STYLE), tmp_path / "bench.zip")
    return submit(store, upload, model="tiny-model", settings=settings, prompts=prompts)


def invariant(path: Path, sid: int) -> tuple[int, int]:
    """(images_done, score rows) of the submission in a snapshot file."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        done = conn.execute("SELECT images_done FROM submissions WHERE id = ?", (sid,)).fetchone()
        rows = conn.execute(
            "SELECT count(*) FROM image_scores WHERE submission_id = ?", (sid,)
        ).fetchone()
        return done[0], rows[0]
    finally:
        conn.close()


def test_snapshot_is_consistent_while_the_worker_writes(tmp_path, backed_up):
    store = Store.open(backed_up)
    try:
        sid = submitted(tmp_path, store, backed_up).submission_id
        worker = Worker(store, backed_up)
        thread = threading.Thread(target=worker.run_once)
        thread.start()
        seen = []
        n = 0
        while thread.is_alive() or n == 0:
            n += 1
            seen.append(invariant(snapshot(sqlite_file(backed_up), tmp_path / f"s{n}.db"), sid))
        thread.join()
        total = 4 * PER_STYLE
        assert store.get_submission(sid).status == "done"
        # every snapshot is one committed state: the counter matches the rows it counts
        assert all(done == rows for done, rows in seen), seen
        assert any(0 < done < total for done, _ in seen), "no snapshot taken mid-job"
        assert not Path(str(tmp_path / "s1.db") + "-wal").exists()  # one self-contained file
    finally:
        store.close()


def test_restore_into_an_empty_data_dir_gives_the_same_leaderboard_and_scores(tmp_path, backed_up):
    hub = HubFolder(Path(backed_up.hub_cache))
    store = Store.open(backed_up)
    done = []
    try:
        sid = submitted(tmp_path, store, backed_up).submission_id
        Worker(store, backed_up, on_job_done=done.append).run_once()
        assert done == [sid]  # the hook the app's backup schedule listens to
        backup = Backup(backed_up, upload=hub)
        assert backup.run(f"job #{sid} done") and backup.status.last_error is None
        board, scores = store.leaderboard("v2.1"), store.image_scores(sid)
        info = store.get_submission(sid)
    finally:
        store.close()
    assert hub.uploads == [(REPO_ID, SNAPSHOT_FILE, "hf_test")]

    fresh = backed_up.replace(data_dir=str(tmp_path / "restarted"))
    assert restore(fresh)
    assert not restore(fresh)  # a data dir with a database is never overwritten
    with Store.open(fresh) as again:
        assert again.leaderboard("v2.1") == board
        assert again.image_scores(sid) == scores
        got = again.get_submission(sid)
        assert (got.status, got.model, got.content_hash) == (
            info.status,
            info.model,
            info.content_hash,
        )
    assert [r for r in board if r.submission_id == sid]  # the verified row is there


def test_an_unreachable_backup_repo_is_an_error_and_suspends_uploads(tmp_path, backed_up):
    fresh = backed_up.replace(data_dir=str(tmp_path / "empty"))
    backup = Backup(fresh)
    assert not backup.restore_at_start()
    assert "someone/hps-backup" in backup.status.restore_error  # not in the (offline) cache
    assert not (tmp_path / "empty" / "leaderboard.db").exists()
    # restore failed: uploads are suspended, so an empty database never replaces the snapshot
    hub = HubFolder(Path(backed_up.hub_cache))
    backup.upload = hub
    Store.open(fresh).close()
    assert not backup.run("scheduled") and "suspended" in backup.status.last_error
    assert hub.uploads == []


NO_TOKEN = """
import sys
from pathlib import Path
from leaderboard import Store
from leaderboard.backup import Backup
from leaderboard.settings import StoreSettings

settings = StoreSettings(data_dir=sys.argv[1], backup_repo="someone/hps-backup")
Store.open(settings).close()
uploads = []
backup = Backup(settings, upload=lambda *args: uploads.append(args))
assert not backup.run("scheduled") and not uploads
print(backup.status.last_error)
"""


def test_no_token_is_an_error_shown_not_raised(tmp_path):
    """In a process whose huggingface_hub home is empty and has no HF_TOKEN."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
    env.update(HF_HOME=str(tmp_path / "hf-home"), HF_HUB_OFFLINE="1")
    out = subprocess.run(
        [sys.executable, "-c", NO_TOKEN, str(tmp_path / "data")],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "no hub token" in out.stdout and "HF_TOKEN" in out.stdout


def test_upload_errors_are_recorded_never_raised(tmp_path, backed_up):
    hub = HubFolder(Path(backed_up.hub_cache))
    Store.open(backed_up).close()
    failing = Backup(backed_up, upload=hub)
    hub.fail_with = OSError("connection reset")
    assert not failing.run("scheduled")
    assert "connection reset" in failing.status.last_error
    hub.fail_with = None
    assert failing.run("scheduled") and failing.status.last_error is None
    assert len(hub.uploads) == 1


def test_admin_view_shows_the_backup_state(tmp_path, backed_up, app_store):
    from web import create_app

    hub = HubFolder(Path(backed_up.hub_cache))
    hub.fail_with = OSError("repo missing")
    backup = Backup(backed_up, upload=hub)
    backup.run("scheduled")
    demo = create_app(backed_up, store=app_store, backup=backup)
    text = demo.hps_context.storage_status()
    assert "FAILED" in text and "repo missing" in text and REPO_ID in text


def test_postgres_is_not_backed_up_by_this(tmp_path, backed_up):
    pg = backed_up.replace(database_url="postgresql+psycopg://u:p@localhost/db")
    backup = Backup(pg)
    assert not backup.run("scheduled")
    assert "SQLite" in backup.status.last_error and "p@" not in backup.status.last_error


def test_snapshot_copies_a_database_being_written(tmp_path):
    """SQLite's backup API on a file with an open write transaction elsewhere: the snapshot
    holds the last committed state, not the uncommitted rows."""
    db = tmp_path / "live.db"
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE t (x INTEGER)")
    writer.execute("INSERT INTO t VALUES (1)")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO t VALUES (2)")
    try:
        copy = snapshot(db, tmp_path / "copy.db")
    finally:
        writer.execute("COMMIT")
        writer.close()
    conn = sqlite3.connect(copy)
    assert conn.execute("SELECT x FROM t").fetchall() == [(1,)]
    conn.close()


def test_schedule_backs_up_soon_after_a_finished_job(tmp_path, backed_up):
    from web.backups import BackupScheduler

    hub = HubFolder(Path(backed_up.hub_cache))
    Store.open(backed_up).close()
    backup = Backup(backed_up, upload=hub)
    stop = threading.Event()
    scheduler = BackupScheduler(backup, interval_s=3600)
    thread = scheduler.start(stop)
    try:
        scheduler.request("job #7 done")  # what the worker's on_job_done calls; returns at once
        deadline = time.monotonic() + 30
        while not hub.uploads and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(hub.uploads) == 1 and backup.status.last_reason == "job #7 done"
    finally:
        stop.set()
        scheduler.request("stop")
        thread.join(10)
    assert not thread.is_alive()
