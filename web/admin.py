"""Admin actions (hide, unhide, delete, rescore), allowed only with ``HPS_ADMIN_TOKEN``.

The token is compared in constant time (digests of equal length, ``hmac.compare_digest``),
never logged, and guessing is throttled per client address: after
``HPS_ADMIN_MAX_FAILURES`` wrong tokens within ``HPS_ADMIN_WINDOW_S`` seconds, that address's
admin actions are refused, without looking at the token, until the oldest failure ages out.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from collections import defaultdict, deque

from scorer.errors import ConfigError, HPSError

from . import texts
from .settings import AppSettings


class AdminDenied(HPSError, PermissionError):
    """Admin actions are off, or the token is wrong."""


class Throttle:
    """Wrong-token counts per client, in a sliding window (in memory: one app process)."""

    def __init__(self, max_failures: int, window_s: float, clock=time.monotonic) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: AppSettings) -> Throttle:
        return cls(settings.admin_max_failures, settings.admin_window_s)

    def _recent(self, client: str) -> deque[float]:
        now = self.clock()
        failures = self._failures[client]
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        return failures

    def wait_s(self, client: str) -> float:
        """Seconds until ``client`` may try again; 0 when it may now."""
        with self._lock:
            failures = self._recent(client)
            if len(failures) < self.max_failures:
                return 0.0
            return max(0.0, failures[0] + self.window_s - self.clock())

    def failed(self, client: str) -> None:
        with self._lock:
            self._recent(client).append(self.clock())


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def check_token(
    settings: AppSettings,
    token: str | None,
    *,
    throttle: Throttle | None = None,
    client: str = "unknown",
) -> None:
    """Constant-time comparison with the configured token; off when none is configured;
    refused while ``client`` is throttled."""
    if not settings.admin_token:
        raise AdminDenied(texts.ADMIN_OFF)
    if throttle is not None:
        wait = throttle.wait_s(client)
        if wait > 0:
            raise AdminDenied(texts.ADMIN_THROTTLED.format(wait=math.ceil(wait)))
    if not hmac.compare_digest(_digest(token or ""), _digest(settings.admin_token)):
        if throttle is not None:
            throttle.failed(client)
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


def client_address(request) -> str:
    """The address throttling counts by: the connecting peer (a forwarded-for header can be
    forged, so it is not used; behind a proxy, all clients share the proxy's count)."""
    client = getattr(request, "client", None)
    return getattr(client, "host", None) or "unknown"


def admin_action(
    store,
    settings: AppSettings,
    token: str | None,
    action: str,
    sid,
    *,
    throttle: Throttle | None = None,
    client: str = "unknown",
) -> str:
    check_token(settings, token, throttle=throttle, client=client)
    sid = submission_id_of(sid)
    ACTIONS[action](store, sid)
    return texts.ADMIN_DONE.format(action=action, id=sid)
