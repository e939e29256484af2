"""The store's settings: where the database lives (on top of the scorer's)."""

from __future__ import annotations

from dataclasses import dataclass

from scorer.settings import ScorerSettings, parse_optional_str, setting


@dataclass(frozen=True)
class StoreSettings(ScorerSettings):
    database_url: str | None = setting(
        None,
        parse_optional_str,
        "SQLAlchemy URL. Unset: SQLite file `<data_dir>/leaderboard.db`. Postgres: "
        "`postgresql+psycopg://user:pass@host/db`.",
    )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_path / 'leaderboard.db').resolve()}"
