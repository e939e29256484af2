"""What the store hands out: frozen, plain records (no database objects escape)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from scorer.errors import HPSError
from scorer.protocol import STYLES, StyleStats


class SubmissionNotFound(HPSError, LookupError):
    """No submission with that id."""

    def __init__(self, submission_id: int) -> None:
        self.submission_id = submission_id
        super().__init__(f"no submission #{submission_id}")


class InvalidTransition(HPSError):
    """An admin or job action that the submission's state does not allow."""


def aware(value: datetime | None) -> datetime | None:
    """Stored naive UTC -> aware UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


REPRODUCTION_COLUMNS: tuple[str, ...] = (*STYLES, "averaged")
DEFAULT_TOLERANCE = 0.1
_EPS = 1e-9  # 27.96 - 27.86 is 0.0999999...: within 0.1 as printed


@dataclass(frozen=True)
class Reproduction:
    """One reported row and its verified twin."""

    model: str
    version: str
    submission_id: int  # the verified twin
    reported: dict[str, float | None]  # column -> published value
    verified: dict[str, float | None]  # column -> value scored here
    tolerance: float = DEFAULT_TOLERANCE

    @property
    def difference(self) -> dict[str, float | None]:
        """Verified minus reported, per column (None where either is missing)."""
        return {
            c: None
            if self.reported.get(c) is None or self.verified.get(c) is None
            else self.verified[c] - self.reported[c]
            for c in REPRODUCTION_COLUMNS
        }

    @property
    def reproduced(self) -> bool:
        """Every style is present on both sides and within the tolerance."""
        diff = self.difference
        return all(diff[s] is not None and abs(diff[s]) <= self.tolerance + _EPS for s in STYLES)

    @property
    def worst(self) -> tuple[str, float] | None:
        """The style with the largest absolute difference, and that difference."""
        diff = [(s, d) for s, d in self.difference.items() if s in STYLES and d is not None]
        return max(diff, key=lambda sd: abs(sd[1])) if diff else None

    def as_dict(self) -> dict:
        return {
            "reported": dict(self.reported),
            "verified": dict(self.verified),
            "difference": self.difference,
            "reproduced": self.reproduced,
        }


@dataclass(frozen=True)
class LeaderboardRow:
    submission_id: int | None  # None for reported rows
    model: str
    link: str | None
    organisation: str | None
    version: str
    kind: str  # "verified" | "reported"
    partial: bool
    styles: dict[str, StyleStats | None]
    averaged: float | None
    rank: int | None  # None for partial rows
    n_images: int
    created_at: datetime | None
    status: str
    # scored on the official benchmark prompt lists (reported rows: the published tables)
    official_prompts: bool = True
    model_id: int | None = None
    # the reported row and its verified twin both carry the pair (leaderboard.reproduction)
    reproduction: Reproduction | None = None
    # 95% bootstrap interval of the rank (verified, ranked rows only) and whether it
    # overlaps another row's interval (statistically tied)
    rank_low: int | None = None
    rank_high: int | None = None
    tied: bool = False
    # 95% bootstrap interval of each style mean and of Averaged (key "averaged"), verified
    # ranked rows only (objects with .low and .high)
    mean_ci: dict | None = None

    def as_dict(self) -> dict:
        return {
            "model": self.model,
            "version": self.version,
            "kind": self.kind,
            "partial": self.partial,
            "styles": {s: (st.as_dict() if st else None) for s, st in self.styles.items()},
            "averaged": self.averaged,
            "rank": self.rank,
            "rank_ci": None if self.rank_low is None else [self.rank_low, self.rank_high],
            "tied": self.tied,
            "official_prompts": self.official_prompts,
            "reproduction": self.reproduction.as_dict() if self.reproduction else None,
        }


@dataclass(frozen=True)
class SubmissionInfo:
    id: int
    model: str
    version: str
    status: str
    partial: bool
    created_at: datetime | None
    finished_at: datetime | None
    error: str | None
    precision: str | None
    checkpoint_sha256: str | None
    images_total: int
    images_done: int
    hidden: bool
    link: str | None = None
    organisation: str | None = None
    notes: str | None = None
    content_hash: str | None = None
    attempts: int = 0
    started_at: datetime | None = None
    folder: str | None = None
    software: dict = field(default_factory=dict)
    # submitted by hub reference: dataset, path and the commit sha it was fetched at
    hub_repo: str | None = None
    hub_path: str | None = None
    hub_revision: str | None = None

    @property
    def hub_reference(self) -> str | None:
        """``hf://datasets/<repo>@<sha>/<path>``: the same bytes, for anyone."""
        if not self.hub_repo:
            return None
        path = f"/{self.hub_path}" if self.hub_path else ""
        return f"hf://datasets/{self.hub_repo}@{self.hub_revision}{path}"


@dataclass(frozen=True)
class Progress:
    status: str
    done: int
    total: int
    rate_per_s: float | None  # images per second in the current (or last) run
    eta_s: float | None  # seconds left at that rate; 0 when finished

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0
