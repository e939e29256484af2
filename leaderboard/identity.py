"""Model identity: who may put a result under which model name, and what a link may be.

There are no accounts, so the store cannot tell a model's owner from anyone else. The rules
therefore protect what is already there:

- A model's link, organisation and notes are set when it is created and never changed by a
  submission (the old upsert filled empty fields: anyone could attach their link to a
  published model).
- A name is compared by its key: Unicode NFKC, case-folded, with spaces and invisible format
  characters removed, so ``SDXL Refiner 0.9``, ``sdxl refiner 0.9`` and full-width or
  zero-width-joined spellings are one name.
- A name whose key is a published model's (the HPS v2 tables) is refused: those rows are the
  paper's, and a lookalike row under the same name on a public board is impersonation.
- A name whose key is an existing submitted model's is refused unless it is spelled exactly
  as stored (no lookalike second entry), and then refused if it brings a link, organisation
  or notes that differ from the model's; otherwise the submission is one more result of that
  model (its own row), which changes nothing about the model.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

from scorer.errors import HPSError

MAX_LINK = 2000


class ModelNameTaken(HPSError, ValueError):
    """The model name is a published model's, a lookalike of another, or would change an
    existing model's link, organisation or notes."""


class InvalidLink(HPSError, ValueError):
    """A model link that is not a plain http(s) URL."""


def model_key(name: str) -> str:
    """The key two model names are compared by (see the module docstring)."""
    text = unicodedata.normalize("NFKC", name)
    text = "".join(
        ch for ch in text if not ch.isspace() and unicodedata.category(ch) not in ("Cf", "Cc")
    )
    return unicodedata.normalize("NFKC", text.casefold())


def check_link(link: str | None) -> str | None:
    """``link`` if it is an absolute http or https URL with a host and no spaces or control
    characters; None for empty; InvalidLink naming it otherwise."""
    link = (link or "").strip()
    if not link:
        return None
    if len(link) > MAX_LINK:
        raise InvalidLink(f"link is too long ({len(link)} characters, at most {MAX_LINK})")
    bad = any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf") for ch in link)
    try:
        parts = urlsplit(link)
    except ValueError:
        parts = None
    if bad or parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidLink(
            f"link {link!r} is not a web address: it must be http:// or https:// and a host"
        )
    return link


def is_safe_link(link: str | None) -> bool:
    """Whether a stored link may be rendered as a clickable link."""
    try:
        return check_link(link) is not None
    except InvalidLink:
        return False
