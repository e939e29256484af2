"""The one place where user errors become ``gr.Error``.

Every callback the app registers is wrapped with :func:`user_errors`. A
:class:`scorer.errors.HPSError` (anything the user can fix: a bad image, a missing checkpoint,
a rejected submission) is shown as a ``gr.Error`` carrying its message, HTML-escaped because
Gradio renders error text as HTML. Anything else is a bug: it is logged with its traceback
and the user sees a generic message.
"""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable
from typing import TypeVar

import gradio as gr

from scorer.errors import HPSError

from . import texts

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable)


def to_gr_error(exc: BaseException) -> gr.Error:
    """The ``gr.Error`` shown for ``exc``: its message for user errors, a generic one else."""
    if isinstance(exc, HPSError):
        return gr.Error(html.escape(str(exc)), title=texts.ERROR_TITLE, print_exception=False)
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
