"""What every view of one app instance shares: settings, scorers, store, prompts."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from leaderboard import Store
from leaderboard.backup import Backup
from scorer.pool import ScorerPool
from scorer.prompts import PromptSets, load_prompt_sets

from . import texts
from .hosting import Hosting
from .settings import AppSettings


@dataclass
class AppContext:
    settings: AppSettings
    pool: ScorerPool
    store: Store
    hosting: Hosting | None = None  # where it runs (main(); None in tests that omit it)
    backup: Backup | None = None
    export_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="hps-export-")))
    _prompts: PromptSets | None = None
    _prompts_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        # removed when the app stops (main) and, whatever ends the process, at its exit
        atexit.register(shutil.rmtree, self.export_dir, ignore_errors=True)

    def close(self) -> None:
        """Remove this app's temporary files (the export folder)."""
        shutil.rmtree(self.export_dir, ignore_errors=True)

    def prompts(self) -> PromptSets:
        """The benchmark prompt sets (HPS_PROMPTS or the hub), loaded on first use."""
        with self._prompts_lock:
            if self._prompts is None:
                self._prompts = load_prompt_sets(
                    self.settings.prompts,
                    expect_count=self.settings.prompt_count_check,
                    hub_cache=self.settings.hub_cache,
                )
            return self._prompts

    def storage_status(self) -> str:
        """Where data is lost and how backups fare: for the About tab and the admin view."""
        lines = []
        if self.hosting is not None and self.hosting.notice:
            lines.append(self.hosting.notice)
        if self.backup is not None and self.backup.enabled:
            lines.append(backup_line(self.backup))
        return "\n\n".join(lines)


def backup_line(backup: Backup) -> str:
    st = backup.status
    parts = []
    if st.restored:
        parts.append(texts.BACKUP_RESTORED.format(repo=st.repo))
    if st.restore_error:
        parts.append(texts.BACKUP_RESTORE_FAILED.format(repo=st.repo, error=st.restore_error))
    if st.last_error:
        when = st.last_error_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        parts.append(texts.BACKUP_FAILED.format(repo=st.repo, when=when, error=st.last_error))
    elif st.last_ok is not None:
        when = st.last_ok.strftime("%Y-%m-%d %H:%M:%S UTC")
        parts.append(texts.BACKUP_OK.format(repo=st.repo, when=when, reason=st.last_reason))
    else:
        parts.append(texts.BACKUP_NEVER.format(repo=st.repo))
    return " ".join(parts)
