"""Scorers loaded lazily, once per HPS version, behind an injectable loader.

The app holds one :class:`ScorerPool`; live scoring and the in-process worker share it, so a
checkpoint is loaded once. A failed load is remembered for display only: the next request
tries again (the user may have put the file in place meanwhile).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .errors import HPSError
from .model import HPSScorer, load_scorer_from_settings
from .settings import ScorerSettings

ScorerLoader = Callable[[ScorerSettings], HPSScorer]


class ScorerPool:
    """version -> HPSScorer, loaded on first use; thread-safe."""

    def __init__(self, settings: ScorerSettings, loader: ScorerLoader | None = None) -> None:
        self.settings = settings
        self._loader = loader or load_scorer_from_settings
        self._lock = threading.Lock()
        self._scorers: dict[str, HPSScorer] = {}
        self._errors: dict[str, str] = {}

    def get(self, version: str) -> HPSScorer:
        """The scorer of ``version``; raises the loader's HPSError (e.g. CheckpointError)."""
        with self._lock:
            scorer = self._scorers.get(version)
            if scorer is not None:
                return scorer
            try:
                scorer = self._loader(self.settings.for_version(version))
            except HPSError as exc:
                self._errors[version] = str(exc)
                raise
            self._scorers[version] = scorer
            self._errors.pop(version, None)
            return scorer

    __call__ = get  # usable as the worker's scorer_factory

    def loaded(self, version: str) -> HPSScorer | None:
        with self._lock:
            return self._scorers.get(version)

    def last_error(self, version: str) -> str | None:
        with self._lock:
            return self._errors.get(version)
