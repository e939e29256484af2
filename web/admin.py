"""Admin actions (hide, unhide, delete, rescore), allowed only with ``HPS_ADMIN_TOKEN``."""

from __future__ import annotations

import hmac

from scorer.errors import ConfigError, HPSError

from . import texts
from .settings import AppSettings


class AdminDenied(HPSError, PermissionError):
    """Admin actions are off, or the token is wrong."""


def check_token(settings: AppSettings, token: str | None) -> None:
    """Constant-time comparison with the configured token; off when none is configured."""
    if not settings.admin_token:
        raise AdminDenied(texts.ADMIN_OFF)
    given = (token or "").encode("utf-8")
    if not hmac.compare_digest(given, settings.admin_token.encode("utf-8")):
        raise AdminDenied(texts.ADMIN_DENIED)


ACTIONS = {
    "hide": lambda store, sid: store.hide_submission(sid, True),
    "unhide": lambda store, sid: store.hide_submission(sid, False),
    "delete": lambda store, sid: store.delete_submission(sid),
    # failed/cancelled: resume (finished images kept); done: score again from scratch
    "requeue": lambda store, sid: store.requeue(sid),
}


MAX_ID = 2**31 - 1  # the id column is a 32-bit integer on PostgreSQL


def submission_id_of(value) -> int:
    """A submission id from an API or form value (int, integral float, ASCII digits);
    ConfigError naming the value for anything else (never a traceback)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ConfigError(texts.NO_SUBMISSION)
    number = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
    if number is None or not 1 <= number <= MAX_ID:
        raise ConfigError(texts.BAD_SUBMISSION_ID.format(value=repr(value)[:40]))
    return number


def admin_action(store, settings: AppSettings, token: str | None, action: str, sid) -> str:
    check_token(settings, token)
    sid = submission_id_of(sid)
    ACTIONS[action](store, sid)
    return texts.ADMIN_DONE.format(action=action, id=sid)
