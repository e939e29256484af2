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

    backup_repo: str | None = setting(
        None,
        parse_optional_str,
        "Hub dataset `<user>/<name>` the SQLite database is backed up to (a consistent "
        "snapshot after each finished job and every HPS_BACKUP_INTERVAL_S); an empty data "
        "dir is restored from its latest snapshot at start. Uploaded images are not backed up.",
    )
    backup_token: str | None = setting(
        None,
        parse_optional_str,
        "Hub token with write access to HPS_BACKUP_REPO. Unset: huggingface_hub's own "
        "(HF_TOKEN, e.g. a Space secret, or a stored login).",
    )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_path / 'leaderboard.db').resolve()}"
