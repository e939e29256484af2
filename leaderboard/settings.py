"""The store's settings: where the database lives (on top of the scorer's)."""

from __future__ import annotations

from dataclasses import dataclass

from scorer.settings import (
    ScorerSettings,
    parse_non_negative_float,
    parse_optional_str,
    setting,
)

from .records import DEFAULT_TOLERANCE


@dataclass(frozen=True)
class StoreSettings(ScorerSettings):
    database_url: str | None = setting(
        None,
        parse_optional_str,
        "SQLAlchemy URL. Unset: SQLite file `<data_dir>/leaderboard.db`. Postgres: "
        "`postgresql+psycopg://user:pass@host/db`.",
    )
    reproduced_within: float = setting(
        DEFAULT_TOLERANCE,
        parse_non_negative_float,
        "A verified twin of a published (reported) row is marked reproduced when every "
        "style mean is within this of the published one.",
    )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_path / 'leaderboard.db').resolve()}"
