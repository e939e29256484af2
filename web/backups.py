"""The backup schedule of the app: one thread that snapshots the database to the hub
dataset every ``HPS_BACKUP_INTERVAL_S`` and soon after each finished job (the worker calls
:meth:`BackupScheduler.request`, which only sets an event: a slow or failing upload never
holds up scoring)."""

from __future__ import annotations

import threading

from leaderboard.backup import Backup


class BackupScheduler:
    def __init__(self, backup: Backup, interval_s: float) -> None:
        self.backup = backup
        self.interval_s = interval_s
        self._wake = threading.Event()
        self._reason = "scheduled"
        self._thread: threading.Thread | None = None

    def request(self, reason: str) -> None:
        """Ask for a backup now (e.g. ``job #12 done``); returns at once."""
        self._reason = reason
        self._wake.set()

    def start(self, stop: threading.Event) -> threading.Thread:
        def loop() -> None:
            while not stop.is_set():
                woken = self._wake.wait(self.interval_s)
                if stop.is_set():
                    break
                self._wake.clear()
                self.backup.run(self._reason if woken else "scheduled")
                self._reason = "scheduled"

        self._thread = threading.Thread(target=loop, name="hps-backup", daemon=True)
        self._thread.start()
        return self._thread
