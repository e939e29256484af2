"""The one declared table of settings.

Every setting has a name, an environment variable (``HPS_<NAME>``), a default, a parser and
a help text. The environment is read in exactly one place, :meth:`Settings.from_env`; code
below the edges receives a :class:`Settings` object (or plain keyword arguments). CLI flags
override the environment with :meth:`Settings.replace`. The README's settings table is
checked against :data:`SETTINGS` by a test, so the two cannot drift.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"expected one of {sorted(_TRUE | _FALSE)}")


def parse_optional_str(text: str) -> str | None:
    return text.strip() or None


def _parse_choice(*choices: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip()
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return value

    return parse


def _parse_positive_int(text: str) -> int:
    value = int(text.strip())
    if value <= 0:
        raise ValueError("must be a positive integer")
    return value


def _parse_non_negative_int(text: str) -> int:
    value = int(text.strip())
    if value < 0:
        raise ValueError("must be zero or a positive integer")
    return value


def _parse_positive_float(text: str) -> float:
    value = float(text.strip())
    if not value > 0:
        raise ValueError("must be a positive number")
    return value


VERSIONS = ("v2.0", "v2.1")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass(frozen=True)
class Setting:
    field: str
    default: Any
    parse: Callable[[str], Any]
    help: str

    @property
    def env(self) -> str:
        return "HPS_" + self.field.upper()


SETTINGS: tuple[Setting, ...] = (
    # --- scorer ---
    Setting(
        "version", "v2.1", _parse_choice(*VERSIONS), "HPS version to score with: v2.0 or v2.1."
    ),
    Setting(
        "checkpoint",
        None,
        parse_optional_str,
        "Path to an HPS checkpoint (`{'state_dict': ...}`). Unset: download the version's "
        "checkpoint from the hub model repo `xswu/HPSv2` (honours HF_HOME / HF_HUB_OFFLINE).",
    ),
    Setting(
        "arch",
        None,
        parse_optional_str,
        "open_clip model name or path to an open_clip model-config JSON. Unset: ViT-H-14.",
    ),
    Setting(
        "precision",
        "auto",
        _parse_choice(*PRECISIONS),
        "auto | fp32 | bf16 | fp16. auto: fp16 autocast on CUDA (as the official evaluation); "
        "on CPU bf16 where the CPU has native bf16 matmuls (AVX512-BF16 or AMX), else fp32. "
        "CPU bf16 runs only the image tower's matmuls in bf16 (scores within 0.05, style means "
        "within 0.01 of fp32: BENCHMARKS.md); fp32 reproduces the official package to 1e-5. "
        "fp16 is CUDA only.",
    ),
    Setting("device", "auto", str.strip, "auto | cpu | cuda | cuda:N."),
    Setting("batch_size", 8, _parse_positive_int, "Images per forward pass."),
    Setting(
        "threads",
        0,
        _parse_non_negative_int,
        "torch intra-op threads; 0 leaves torch's default (one per core).",
    ),
    Setting(
        "max_image_pixels",
        50_000_000,
        _parse_positive_int,
        "Largest image accepted, in pixels (width x height); larger is refused as a "
        "decompression bomb.",
    ),
    # --- data ---
    Setting("data_dir", "data", str.strip, "Folder for the database, uploads and caches."),
    Setting(
        "database_url",
        None,
        parse_optional_str,
        "SQLAlchemy URL. Unset: SQLite file `<data_dir>/leaderboard.db`. Postgres: "
        "`postgresql+psycopg://user:pass@host/db`.",
    ),
    Setting(
        "prompts",
        None,
        parse_optional_str,
        "Benchmark prompts: a combined `{style: [prompts]}` JSON or a folder of `<style>.json`. "
        "Unset: the hub dataset `zhwang/HPDv2`, `benchmark/<style>.json`.",
    ),
    # --- submissions ---
    Setting("max_upload_mb", 2048, _parse_positive_int, "Largest upload (zip) accepted, in MiB."),
    Setting(
        "max_zip_entries", 10_000, _parse_positive_int, "Most entries a submission zip may hold."
    ),
    Setting(
        "max_uncompressed_mb",
        8192,
        _parse_positive_int,
        "Largest total uncompressed size of a submission zip, in MiB.",
    ),
    Setting(
        "max_compression_ratio",
        200.0,
        _parse_positive_float,
        "Largest uncompressed/compressed ratio of one zip entry (zip-bomb guard).",
    ),
    Setting(
        "max_image_mb",
        64,
        _parse_positive_int,
        "Largest single image file accepted in a submission, in MiB.",
    ),
    Setting(
        "worker",
        True,
        parse_bool,
        "Run one scoring worker inside the app process.",
    ),
    Setting(
        "job_lease_s",
        300,
        _parse_positive_int,
        "Seconds a running scoring job may go without a heartbeat (one per batch) before another "
        "worker reclaims it as abandoned.",
    ),
    Setting(
        "worker_poll_s",
        2.0,
        _parse_positive_float,
        "Seconds an idle scoring worker waits before looking for a queued job again.",
    ),
    Setting(
        "worker_pause_ms",
        0,
        _parse_non_negative_int,
        "Milliseconds a scoring worker pauses between batches, leaving CPU to live requests.",
    ),
    Setting(
        "prompt_count_check",
        True,
        parse_bool,
        "Require exactly 800 prompts per style. Turn off only for small test benchmarks.",
    ),
    # --- app ---
    Setting("host", "127.0.0.1", str.strip, "Address the web app listens on."),
    Setting("port", 7860, _parse_positive_int, "Port the web app listens on."),
    Setting(
        "admin_token",
        None,
        parse_optional_str,
        "Token that unlocks admin actions (hide, delete, rescore). Unset: admin actions are off.",
    ),
    Setting(
        "max_score_images",
        32,
        _parse_positive_int,
        "Most images one live Score request may hold (live scoring runs one request at a time).",
    ),
    Setting(
        "queue_size",
        64,
        _parse_positive_int,
        "Most requests the web app holds waiting in its queue; more are refused as busy.",
    ),
)

_BY_FIELD = {s.field: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    version: str = "v2.1"
    checkpoint: str | None = None
    arch: str | None = None
    precision: str = "auto"
    device: str = "auto"
    batch_size: int = 8
    threads: int = 0
    max_image_pixels: int = 50_000_000
    data_dir: str = "data"
    database_url: str | None = None
    prompts: str | None = None
    max_upload_mb: int = 2048
    max_zip_entries: int = 10_000
    max_uncompressed_mb: int = 8192
    max_compression_ratio: float = 200.0
    max_image_mb: int = 64
    worker: bool = True
    job_lease_s: int = 300
    worker_poll_s: float = 2.0
    worker_pause_ms: int = 0
    prompt_count_check: bool = True
    host: str = "127.0.0.1"
    port: int = 7860
    admin_token: str | None = None
    max_score_images: int = 32
    queue_size: int = 64

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every ``HPS_*`` variable; a bad value raises ConfigError naming it."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = environ.get(setting.env)
            if raw is None:
                continue
            try:
                values[setting.field] = setting.parse(raw)
            except ValueError as exc:
                raise ConfigError(f"{setting.env}={raw!r}: {exc}") from None
        return cls(**values)

    def replace(self, **overrides: Any) -> Settings:
        """A copy with the given fields replaced; ``None`` values are ignored (unset flags)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        unknown = set(given) - set(_BY_FIELD)
        if unknown:
            raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **given)

    def for_version(self, version: str) -> Settings:
        """Settings that load ``version``. ``HPS_CHECKPOINT`` is the checkpoint of
        ``HPS_VERSION`` only; any other version comes from the hub, so a v2.1 file is never
        used (and labelled) as v2.0."""
        if version == self.version:
            return self
        return dataclasses.replace(self, version=version, checkpoint=None)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_path / 'leaderboard.db').resolve()}"


def _check_defaults_agree() -> None:
    fields = {f.name: f.default for f in dataclasses.fields(Settings)}
    declared = {s.field: s.default for s in SETTINGS}
    if fields != declared:  # pragma: no cover - a programming error caught at import
        raise RuntimeError(f"Settings and SETTINGS disagree: {fields} != {declared}")


_check_defaults_agree()
