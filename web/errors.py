"""The one place where user errors become ``gr.Error``.

Every callback the app registers is wrapped with :func:`user_errors`. A
:class:`scorer.errors.HPSError` (anything the user can fix: a bad image, a missing checkpoint,
a rejected submission) is shown as a ``gr.Error`` carrying its message. The browser renders
error text as HTML, so there it is HTML-escaped (a message may quote another user's model
name); API clients (``gradio_client`` and MCP, which say so in the ``x-gradio-user`` header)
get the plain text. Anything else is a bug: it is logged with its traceback and the user sees
a generic message.
"""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable
from typing import TypeVar

import gradio as gr
from gradio.context import LocalContext

from scorer.errors import HPSError

from . import texts

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable)


API_CLIENTS = ("api", "mcp")  # x-gradio-user values of clients that do not render HTML


def from_api_client() -> bool:
    """Whether the request being served comes from an API client rather than the page."""
    request = LocalContext.request.get(None)
    headers = getattr(request, "headers", None)
    return headers is not None and headers.get("x-gradio-user") in API_CLIENTS


def to_gr_error(exc: BaseException, *, plain: bool | None = None) -> gr.Error:
    """The ``gr.Error`` shown for ``exc``: its message for user errors, a generic one else.
    ``plain``: no HTML escaping (default: when the request comes from an API client)."""
    if isinstance(exc, HPSError):
        plain = from_api_client() if plain is None else plain
        message = str(exc) if plain else html.escape(str(exc))
        return gr.Error(message, title=texts.ERROR_TITLE, print_exception=False)
    return gr.Error(texts.INTERNAL_ERROR, title=texts.INTERNAL_ERROR_TITLE)


def user_errors(fn: F) -> F:
    """Wrap a callback so user errors reach the browser as ``gr.Error``."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except HPSError as exc:
            raise to_gr_error(exc) from exc
        except Exception as exc:
            log.exception("unexpected error in %s", getattr(fn, "__name__", fn))
            raise to_gr_error(exc) from exc

    return wrapper  # type: ignore[return-value]
