"""Results store and leaderboard: SQLite/PostgreSQL via SQLAlchemy, statistics, export."""

from .models import KIND_REPORTED, KIND_VERIFIED, STATUSES
from .records import (
    InvalidTransition,
    LeaderboardRow,
    Progress,
    SubmissionInfo,
    SubmissionNotFound,
)
from .repository import Store
from .stats import HeadToHead, bootstrap_ci, head_to_head, official_stats, rank_rows

__all__ = [
    "HeadToHead",
    "InvalidTransition",
    "KIND_REPORTED",
    "KIND_VERIFIED",
    "LeaderboardRow",
    "Progress",
    "STATUSES",
    "Store",
    "SubmissionInfo",
    "SubmissionNotFound",
    "bootstrap_ci",
    "head_to_head",
    "official_stats",
    "rank_rows",
]
