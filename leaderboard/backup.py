"""Backups of the SQLite database to a hub dataset, and the restore at start.

A host without persistent storage (a Hugging Face Space without a mounted bucket) loses its
files at every restart. With ``HPS_BACKUP_REPO=<user>/<dataset>`` the database is copied with
SQLite's online backup API (a consistent snapshot while the worker writes, never a copy of a
file being written) and uploaded as ``leaderboard.db`` to that dataset; each upload is a
commit, so the dataset's history holds the earlier snapshots. At start, a data dir without a
database is restored from the latest snapshot before the store opens. Scores, submissions
and results survive; uploaded images do not (they are not backed up).

The network is touched in exactly two places: :func:`upload_to_hub` (replaceable: the
``upload`` argument of :class:`Backup`) and the ``hf_hub_download`` of :func:`restore`.
Errors are logged and recorded in :class:`BackupStatus` for the admin view; they never
raise out of :meth:`Backup.run`, so a failing backup never stops scoring.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from scorer.errors import ConfigError, HPSError

from .models import utcnow
from .settings import StoreSettings

log = logging.getLogger(__name__)

SNAPSHOT_FILE = "leaderboard.db"  # its path in the dataset repo

Upload = Callable[[Path, str, str, str | None], None]  # (file, repo, path in repo, token)


class BackupError(HPSError):
    """A backup or restore could not be made (no token, no such repo, upload failed...)."""


def sqlite_file(settings: StoreSettings) -> Path:
    """The database file; backups cover SQLite files only (PostgreSQL has its own tools)."""
    url = make_url(settings.resolved_database_url)
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        raise ConfigError(
            f"HPS_BACKUP_REPO backs up a SQLite file; the database is {url.get_backend_name()} "
            f"({url.render_as_string(hide_password=True)})"
        )
    return Path(database).expanduser()


def snapshot(database: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """A consistent copy of the SQLite file ``database`` at ``dest`` through SQLite's online
    backup API (readers and the writer go on meanwhile), as one self-contained file."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(Path(database).resolve().as_uri() + "?mode=ro", uri=True, timeout=30)
    try:
        out = sqlite3.connect(dest)
        try:
            src.backup(out)
            out.execute("PRAGMA journal_mode=DELETE")  # no -wal file beside the snapshot
        finally:
            out.close()
    finally:
        src.close()
    return dest


def upload_to_hub(file: Path, repo: str, path_in_repo: str, token: str | None) -> None:
    """Upload ``file`` to the hub dataset ``repo`` (the network; tests replace it)."""
    from huggingface_hub import HfApi

    HfApi(token=token).upload_file(
        path_or_fileobj=str(file),
        path_in_repo=path_in_repo,
        repo_id=repo,
        repo_type="dataset",
        commit_message="leaderboard database snapshot",
    )


def resolve_token(settings: StoreSettings) -> str | None:
    if settings.backup_token:
        return settings.backup_token
    from huggingface_hub import get_token

    return get_token()  # HF_TOKEN, or a stored login


def restore(settings: StoreSettings) -> bool:
    """Before the store opens: if the data dir has no database, fetch the latest snapshot
    from ``HPS_BACKUP_REPO`` and put it in place. Returns whether one was restored; a repo
    without a snapshot yet restores nothing. Raises BackupError naming what failed."""
    if not settings.backup_repo:
        return False
    target = sqlite_file(settings)
    if target.exists():
        return False
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import RemoteEntryNotFoundError, RepositoryNotFoundError

    try:
        path = hf_hub_download(
            repo_id=settings.backup_repo,
            filename=SNAPSHOT_FILE,
            repo_type="dataset",
            token=resolve_token(settings),
            cache_dir=settings.hub_cache,
        )
    except RemoteEntryNotFoundError:  # the hub says so; not "unreachable" (offline, network)
        log.info("backup repo %s has no snapshot yet: starting empty", settings.backup_repo)
        return False
    except RepositoryNotFoundError as exc:
        raise BackupError(
            f"HPS_BACKUP_REPO={settings.backup_repo!r}: no such dataset, or the token cannot "
            "read it"
        ) from exc
    except Exception as exc:
        raise BackupError(
            f"restore from {settings.backup_repo}: {type(exc).__name__}: {exc}"
        ) from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".restore")
    shutil.copyfile(path, tmp)
    check = sqlite3.connect(tmp)
    try:
        ok = check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    except sqlite3.DatabaseError:
        ok = False
    finally:
        check.close()
    if not ok:
        tmp.unlink()
        raise BackupError(f"the snapshot in {settings.backup_repo} is not a sound SQLite file")
    os.replace(tmp, target)
    log.info("restored %s from the hub dataset %s", target, settings.backup_repo)
    return True


@dataclass
class BackupStatus:
    repo: str | None
    last_ok: datetime | None = None
    last_reason: str | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    restored: bool = False
    restore_error: str | None = None  # set: uploads are suspended (see Backup.run)


class Backup:
    """Snapshots and uploads, one at a time; :meth:`run` never raises."""

    def __init__(self, settings: StoreSettings, upload: Upload | None = None) -> None:
        self.settings = settings
        self.upload = upload or upload_to_hub
        self.status = BackupStatus(settings.backup_repo)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self.settings.backup_repo)

    def run(self, reason: str) -> bool:
        """Snapshot the database and upload it; returns whether it worked."""
        if not self.enabled:
            return False
        with self._lock:
            try:
                if self.status.restore_error:
                    # the data dir started empty because the restore failed: uploading now
                    # would make an empty database the latest snapshot
                    raise BackupError(
                        "suspended: the restore at start failed "
                        f"({self.status.restore_error}); restart once the repo is reachable"
                    )
                database = sqlite_file(self.settings)
                token = resolve_token(self.settings)
                if not token:
                    raise BackupError(
                        "no hub token: set HPS_BACKUP_TOKEN or HF_TOKEN (a Space secret) with "
                        f"write access to {self.settings.backup_repo}"
                    )
                if not database.is_file():
                    raise BackupError(f"no database at {database} to back up")
                with tempfile.TemporaryDirectory(prefix="hps-backup-") as tmp:
                    file = snapshot(database, Path(tmp) / SNAPSHOT_FILE)
                    self.upload(file, self.settings.backup_repo, SNAPSHOT_FILE, token)
            except Exception as exc:  # logged and shown to the admin; scoring goes on
                log.warning("backup to %s failed: %s", self.settings.backup_repo, exc)
                self.status.last_error = f"{type(exc).__name__}: {exc}"
                self.status.last_error_at = utcnow()
                return False
            self.status.last_ok = utcnow()
            self.status.last_reason = reason
            self.status.last_error = None
            log.info("backed up the database to %s (%s)", self.settings.backup_repo, reason)
            return True

    def restore_at_start(self) -> bool:
        """:func:`restore`, its error recorded and logged instead of raised."""
        try:
            self.status.restored = restore(self.settings)
        except (HPSError, OSError) as exc:
            log.warning("restore from %s failed: %s", self.settings.backup_repo, exc)
            self.status.restore_error = str(exc)
        return self.status.restored
