"""Declared settings: each package declares its own, once, as fields of a frozen dataclass.

A setting is a dataclass field made by :func:`setting` (its one default, a parser and a help
text); its environment variable is ``HPS_<FIELD>``. Layers extend the settings of the layer
below (``ScorerSettings`` <- ``leaderboard.StoreSettings`` <- ``submissions.SubmissionSettings``
<- ``web.AppSettings``), so one object can be handed down and every layer reads only what it
declares or inherits. The environment is read in exactly one place, :meth:`from_env`; CLI
flags override it with :meth:`replace`. The README's settings table is generated from the
declarations (``scripts/settings_table.py``) and checked by a test, so the two cannot drift.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

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


def parse_choice(*choices: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip()
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return value

    return parse


def parse_positive_int(text: str) -> int:
    value = int(text.strip())
    if value <= 0:
        raise ValueError("must be a positive integer")
    return value


def parse_non_negative_int(text: str) -> int:
    value = int(text.strip())
    if value < 0:
        raise ValueError("must be zero or a positive integer")
    return value


def parse_positive_float(text: str) -> float:
    value = float(text.strip())
    if not value > 0:
        raise ValueError("must be a positive number")
    return value


def parse_non_negative_float(text: str) -> float:
    value = float(text.strip())
    if not value >= 0:
        raise ValueError("must be zero or a positive number")
    return value


VERSIONS = ("v2.0", "v2.1")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass(frozen=True)
class Setting:
    """One declared setting, as the README table and :meth:`SettingsBase.from_env` see it."""

    field: str
    default: Any
    parse: Callable[[str], Any]
    help: str
    package: str

    @property
    def env(self) -> str:
        return "HPS_" + self.field.upper()


def setting(default: Any, parse: Callable[[str], Any], help: str) -> Any:
    """A settings field: its one default, the parser of its variable, its help text."""
    return dataclasses.field(default=default, metadata={"parse": parse, "help": help})


@dataclass(frozen=True)
class SettingsBase:
    """from_env / replace / declared, shared by every layer's settings class."""

    @classmethod
    def declared(cls) -> tuple[Setting, ...]:
        """The settings of this class, its own and inherited, in declaration order."""
        owners = {}
        for klass in reversed(cls.__mro__):
            for name in vars(klass).get("__annotations__", {}):
                owners.setdefault(name, klass.__module__.split(".")[0])
        return tuple(
            Setting(f.name, f.default, f.metadata["parse"], f.metadata["help"], owners[f.name])
            for f in dataclasses.fields(cls)
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Read every ``HPS_*`` variable; a bad value raises ConfigError naming it."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for s in cls.declared():
            raw = environ.get(s.env)
            if raw is None:
                continue
            try:
                values[s.field] = s.parse(raw)
            except ValueError as exc:
                raise ConfigError(f"{s.env}={raw!r}: {exc}") from None
        return cls(**values)

    def replace(self, **overrides: Any) -> Self:
        """A copy with the given fields replaced; ``None`` values are ignored (unset flags)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        unknown = set(given) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **given)


@dataclass(frozen=True)
class ScorerSettings(SettingsBase):
    """What the scorer needs: version, weights, arithmetic, image limits, prompts, caches."""

    version: str = setting(
        "v2.1", parse_choice(*VERSIONS), "HPS version to score with: v2.0 or v2.1."
    )
    checkpoint: str | None = setting(
        None,
        parse_optional_str,
        "Path to an HPS checkpoint (`{'state_dict': ...}`). Unset: download the version's "
        "checkpoint from the hub model repo `xswu/HPSv2` (honours HF_HOME / HF_HUB_OFFLINE).",
    )
    arch: str | None = setting(
        None,
        parse_optional_str,
        "open_clip model name or path to an open_clip model-config JSON. Unset: ViT-H-14.",
    )
    precision: str = setting(
        "auto",
        parse_choice(*PRECISIONS),
        "auto | fp32 | bf16 | fp16. auto: fp16 autocast on CUDA (as the official evaluation); "
        "on CPU bf16 where the CPU has native bf16 matmuls (AVX512-BF16 or AMX), else fp32. "
        "CPU bf16 runs only the image tower's matmuls in bf16 (scores within 0.05, style means "
        "within 0.01 of fp32: BENCHMARKS.md); fp32 reproduces the official package to 1e-5. "
        "fp16 is CUDA only.",
    )
    device: str = setting("auto", str.strip, "auto | cpu | cuda | cuda:N.")
    batch_size: int = setting(8, parse_positive_int, "Images per forward pass.")
    threads: int = setting(
        0,
        parse_non_negative_int,
        "torch intra-op threads; 0 leaves torch's default (one per core).",
    )
    zero_gpu_base_s: float = setting(
        15.0,
        parse_positive_float,
        "ZeroGPU only: fixed seconds of GPU one scoring call asks for (the fork and the move "
        "of the weights), on top of HPS_ZERO_GPU_PER_IMAGE_S per image of its batch.",
    )
    zero_gpu_per_image_s: float = setting(
        0.05,
        parse_non_negative_float,
        "ZeroGPU only: seconds of GPU asked for per image of a batch.",
    )
    max_image_pixels: int = setting(
        50_000_000,
        parse_positive_int,
        "Largest image accepted, in pixels (width x height); larger is refused as a "
        "decompression bomb.",
    )
    data_dir: str = setting("data", str.strip, "Folder for the database, uploads and caches.")
    hub_cache: str | None = setting(
        None,
        parse_optional_str,
        "huggingface_hub cache folder for the checkpoints and the hub prompts. Unset: the "
        "library's own (HF_HOME / HF_HUB_CACHE). When set, files preloaded into the library's "
        "default cache (a Space's `preload_from_hub`) are still used from there.",
    )
    prompts: str | None = setting(
        None,
        parse_optional_str,
        "Benchmark prompts: a combined `{style: [prompts]}` JSON or a folder of `<style>.json`. "
        "Unset: the hub dataset `zhwang/HPDv2`, `benchmark/<style>.json`.",
    )
    text_cache_size: int = setting(
        10_000,
        parse_positive_int,
        "Most prompts whose text embeddings a loaded scorer keeps in memory (least recently "
        "used dropped first; ~4 KiB each for ViT-H-14). Keep it above 3200 so a benchmark "
        "job never encodes a prompt twice.",
    )
    prompt_count_check: bool = setting(
        True,
        parse_bool,
        "Require exactly 800 prompts per style. Turn off only for small test benchmarks.",
    )

    def for_version(self, version: str) -> Self:
        """Settings that load ``version``. ``HPS_CHECKPOINT`` is the checkpoint of
        ``HPS_VERSION`` only; any other version comes from the hub, so a v2.1 file is never
        used (and labelled) as v2.0."""
        if version == self.version:
            return self
        return dataclasses.replace(self, version=version, checkpoint=None)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser()

    def writable_data_path(self) -> Path:
        """:attr:`data_path`, created if needed and checked writable; ConfigError naming
        ``HPS_DATA_DIR`` and the reason otherwise (never a traceback)."""
        path = self.data_path
        try:
            path.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path, prefix=".write-check-"):
                pass
        except OSError as exc:
            raise ConfigError(
                f"HPS_DATA_DIR={self.data_dir!r} cannot be used: "
                f"{exc.strerror or type(exc).__name__}"
                f"{f' ({exc.filename})' if exc.filename else ''}; point it at a writable folder"
            ) from None
        return path
