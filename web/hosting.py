"""Where the app runs: the address and port to listen on, and where its data survives.

Hosts such as Hugging Face Spaces say where to listen through Gradio's own variables
(``GRADIO_SERVER_NAME=0.0.0.0``, ``GRADIO_SERVER_PORT``) and offer persistent storage as a
folder (a storage bucket mounted read-write, by convention at ``/data``). The rules, in order:

- host: ``HPS_HOST``, else ``GRADIO_SERVER_NAME``, else 127.0.0.1; port: ``HPS_PORT``, else
  ``GRADIO_SERVER_PORT``, else 7860.
- data dir: ``HPS_DATA_DIR``, else ``<HPS_STORAGE_ROOT>/hps`` when the storage root is a
  writable folder (on a Space, or wherever ``HPS_STORAGE_ROOT`` is set: a local checkout with
  some ``/data`` of its own keeps ``./data``), else ``./data``; hub cache: ``HPS_HUB_CACHE``,
  else ``<root>/.huggingface/hub`` on the same condition unless ``HF_HOME`` /
  ``HF_HUB_CACHE`` say otherwise.

On a Space (``SPACE_ID`` set) whose data is not on persistent storage, :attr:`Hosting.notice`
says that results are lost on restart (or, with ``HPS_BACKUP_REPO``, that only the database
is kept); the app logs it at start and shows it in the About tab and the admin view.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from scorer.errors import ConfigError
from scorer.settings import parse_positive_int

from . import texts
from .settings import AppSettings


@dataclass(frozen=True)
class Hosting:
    on_space: bool  # SPACE_ID is set: a Hugging Face Space
    persistent: bool  # the data dir is on the storage root
    storage_root: Path
    notice: str | None  # for the admin: where data is lost, and what to do about it


def storage_writable(root: Path) -> bool:
    """A folder this process may create files in (a mounted, read-write bucket)."""
    return root.is_dir() and os.access(root, os.W_OK | os.X_OK)


def settings_from_env(environ: Mapping[str, str] | None = None) -> tuple[AppSettings, Hosting]:
    """``AppSettings.from_env`` plus the host's variables and the persistent storage."""
    environ = os.environ if environ is None else environ
    settings = AppSettings.from_env(environ)
    overrides: dict = {}
    if "HPS_HOST" not in environ and environ.get("GRADIO_SERVER_NAME", "").strip():
        overrides["host"] = environ["GRADIO_SERVER_NAME"].strip()
    if "HPS_PORT" not in environ and environ.get("GRADIO_SERVER_PORT", "").strip():
        raw = environ["GRADIO_SERVER_PORT"]
        try:
            overrides["port"] = parse_positive_int(raw)
        except ValueError as exc:
            raise ConfigError(f"GRADIO_SERVER_PORT={raw!r}: {exc}") from None
    root = Path(settings.storage_root).expanduser()
    on_space = bool(environ.get("SPACE_ID"))
    wanted = on_space or "HPS_STORAGE_ROOT" in environ
    persistent = False
    if "HPS_DATA_DIR" not in environ and wanted and storage_writable(root):
        overrides["data_dir"] = str(root / "hps")
        persistent = True
    if (
        persistent
        and "HPS_HUB_CACHE" not in environ
        and not ({"HF_HOME", "HF_HUB_CACHE"} & set(environ))
    ):
        overrides["hub_cache"] = str(root / ".huggingface" / "hub")
    settings = settings.replace(**overrides)
    notice = None
    if on_space and not persistent and "HPS_DATA_DIR" not in environ:
        notice = (
            texts.STORAGE_BACKED_UP.format(repo=settings.backup_repo)
            if settings.backup_repo
            else texts.STORAGE_EPHEMERAL.format(root=root)
        )
    return settings, Hosting(on_space, persistent, root, notice)
