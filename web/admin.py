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


def admin_action(store, settings: AppSettings, token: str | None, action: str, sid) -> str:
    check_token(settings, token)
    if sid is None or str(sid).strip() == "":
        raise ConfigError(texts.NO_SUBMISSION)
    ACTIONS[action](store, int(sid))
    return texts.ADMIN_DONE.format(action=action, id=int(sid))
