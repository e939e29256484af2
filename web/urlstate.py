"""What a visitor sees, as URL query parameters: parsed strictly, written back compactly.

Every view is shareable: the tab, version, search, filters and sort of the leaderboard, the
model of the Model tab, the pair, style and prompt index of Head-to-head. Unknown or
malformed values fall back to the defaults (a stale link still opens a page).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from urllib.parse import urlencode

from scorer.protocol import STYLES
from scorer.settings import VERSIONS

TABS: tuple[str, ...] = (
    "leaderboard", "model", "h2h", "reproduction", "score", "compare", "submit", "about",
)  # fmt: skip
# Most characters kept of a search or a model choice from the URL.
MAX_PARAM_CHARS = 200


@dataclass(frozen=True)
class ViewState:
    tab: str = "leaderboard"
    version: str = ""
    q: str = ""  # search
    verified: bool = False
    partial: bool = False
    sort: str = "rank"
    model: str = ""  # "v:<submission id>" or "r:<model name>"
    a: str = ""  # head-to-head pair: "v:<id>"
    b: str = ""
    style: str = STYLES[0]
    prompt: int = 0


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _choice(value: str | None) -> str:
    return (value or "").strip()[:MAX_PARAM_CHARS]


def _index(value: str | None) -> int:
    try:
        return max(0, int((value or "0").strip()))
    except ValueError:
        return 0


def parse_query(
    params: Mapping[str, str], *, default_version: str, sort_keys: tuple[str, ...]
) -> ViewState:
    """The view a URL asks for; anything unknown is replaced by its default."""
    version = params.get("version", default_version)
    sort = params.get("sort", "rank")
    tab = params.get("tab", "leaderboard")
    style = params.get("style", STYLES[0])
    return ViewState(
        tab=tab if tab in TABS else "leaderboard",
        version=version if version in VERSIONS else default_version,
        q=_choice(params.get("q")),
        verified=_flag(params.get("verified")),
        partial=_flag(params.get("partial")),
        sort=sort if sort in sort_keys else "rank",
        model=_choice(params.get("model")),
        a=_choice(params.get("a")),
        b=_choice(params.get("b")),
        style=style if style in STYLES else STYLES[0],
        prompt=_index(params.get("prompt")),
    )


def to_query(state: ViewState, *, default_version: str) -> str:
    """The query string of ``state`` without its default values ("" for the default view)."""
    defaults = asdict(ViewState(version=default_version))
    out = {}
    for f in fields(ViewState):
        value = getattr(state, f.name)
        if value == defaults[f.name] or value in ("", None, False):
            continue
        out[f.name] = "1" if value is True else str(value)
    return urlencode(out)
