"""The URL query <-> view state: strict parsing, defaults left out of links."""

from __future__ import annotations

from urllib.parse import parse_qsl

from web.tables import SORT_KEYS
from web.urlstate import MAX_PARAM_CHARS, ViewState, parse_query, to_query


def parse(query: str) -> ViewState:
    return parse_query(dict(parse_qsl(query)), default_version="v2.1", sort_keys=SORT_KEYS)


def test_a_crafted_url_gives_that_view_and_back():
    query = (
        "tab=h2h&version=v2.0&q=sdxl&verified=1&partial=true&sort=photo&a=v:3&b=v:4"
        "&style=paintings&prompt=17"
    )
    state = parse(query)
    assert state == ViewState(
        tab="h2h", version="v2.0", q="sdxl", verified=True, partial=True, sort="photo",
        a="v:3", b="v:4", style="paintings", prompt=17,
    )  # fmt: skip
    assert parse(to_query(state, default_version="v2.1")) == state


def test_unknown_values_fall_back_and_defaults_are_left_out():
    state = parse("tab=nope&version=v9&sort=evil&style=x&prompt=-3&verified=no&q=" + "z" * 999)
    assert (state.tab, state.version, state.sort, state.style, state.prompt) == (
        "leaderboard", "v2.1", "rank", "anime", 0,
    )  # fmt: skip
    assert not state.verified and len(state.q) == MAX_PARAM_CHARS
    assert parse("prompt=abc").prompt == 0
    assert to_query(ViewState(version="v2.1"), default_version="v2.1") == ""
    assert to_query(ViewState(tab="model", version="v2.1", model="r:A&B"),
                    default_version="v2.1") == "tab=model&model=r%3AA%26B"  # fmt: skip
