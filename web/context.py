"""What every view of one app instance shares: settings, scorers, store, prompts."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from leaderboard import Store
from scorer.pool import ScorerPool
from scorer.prompts import PromptSets, load_prompt_sets

from .settings import AppSettings


@dataclass
class AppContext:
    settings: AppSettings
    pool: ScorerPool
    store: Store
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
                    self.settings.prompts, expect_count=self.settings.prompt_count_check
                )
            return self._prompts
