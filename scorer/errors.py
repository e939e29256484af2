"""Typed user errors.

Everything a user can get wrong (a file, a setting, a flag, an upload) raises a subclass of
:class:`HPSError` whose message names the offending thing. The CLI prints the message and
exits with status 2; the web app turns it into one ``gr.Error`` in exactly one place.
Any other exception is a bug and is logged with its traceback.
"""

from __future__ import annotations


class HPSError(Exception):
    """Base class of all errors that are the user's to fix."""


class ConfigError(HPSError, ValueError):
    """A setting or flag has a value that cannot be used."""


class CheckpointError(HPSError):
    """No usable HPS checkpoint could be found or loaded."""


class ImageError(HPSError, ValueError):
    """An image cannot be used; the message names the image."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"{name}: {reason}")


class PromptSetError(HPSError):
    """The benchmark prompt sets cannot be loaded or are malformed."""


class BenchmarkLayoutError(HPSError):
    """A benchmark folder does not have the expected layout."""
