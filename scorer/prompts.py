"""Benchmark prompt sets: from a local file/folder or the hub dataset ``zhwang/HPDv2``.

The lists contain duplicate prompts: they are indexed by position and never deduplicated.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from .errors import PromptSetError
from .protocol import PROMPTS_PER_STYLE, STYLES
from .zoo import hub_file

HUB_DATASET = "zhwang/HPDv2"
HUB_FOLDER = "benchmark"


@dataclass(frozen=True)
class PromptSets:
    styles: dict[str, list[str]]  # style -> prompts in benchmark order
    source: str

    def sha256(self, style: str) -> str:
        return prompt_list_sha256(self.styles[style])

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.styles.values())


def prompt_list_sha256(prompts: list[str]) -> str:
    data = json.dumps(prompts, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def load_prompt_sets(
    source: str | Path | None = None, *, expect_count: bool = True, hub_cache: str | None = None
) -> PromptSets:
    """Load the four styles' prompts.

    ``source``: a combined ``{style: [prompts]}`` JSON file, or a folder of ``<style>.json``
    files; ``None`` downloads ``benchmark/<style>.json`` from the hub dataset (into
    ``hub_cache``, else the library's cache). With
    ``expect_count`` each style must hold exactly 800 prompts.
    """
    if source is None:
        styles = _from_hub(hub_cache)
        label = f"hub dataset {HUB_DATASET} ({HUB_FOLDER}/<style>.json)"
    else:
        path = Path(source).expanduser()
        label = str(path)
        if path.is_dir():
            styles = {}
            for style in STYLES:
                file = path / f"{style}.json"
                if not file.is_file():
                    raise PromptSetError(f"prompt folder {label!r} has no {style}.json")
                styles[style] = _read_json(file)
        elif path.is_file():
            data = _read_json(path)
            if not isinstance(data, dict):
                raise PromptSetError(f"{label!r}: expected a JSON object {{style: [prompts]}}")
            styles = data
        else:
            raise PromptSetError(f"prompt set {label!r} does not exist (HPS_PROMPTS / --prompts)")
    return PromptSets(_validate(styles, label, expect_count), label)


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PromptSetError(f"{str(path)!r} is not readable JSON ({exc})") from None


def _validate(styles: dict, label: str, expect_count: bool) -> dict[str, list[str]]:
    missing = [s for s in STYLES if s not in styles]
    if missing:
        raise PromptSetError(
            f"{label!r} lacks the styles {', '.join(missing)} (needs {', '.join(STYLES)})"
        )
    out: dict[str, list[str]] = {}
    for style in STYLES:
        prompts = styles[style]
        if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
            raise PromptSetError(f"{label!r}: {style} must be a list of strings")
        if expect_count and len(prompts) != PROMPTS_PER_STYLE:
            raise PromptSetError(
                f"{label!r}: {style} has {len(prompts)} prompts, the benchmark has "
                f"{PROMPTS_PER_STYLE}"
            )
        out[style] = list(prompts)
    return out


def _from_hub(hub_cache: str | None = None) -> dict[str, list[str]]:
    """``benchmark/<style>.json`` of the hub dataset, through huggingface_hub's cache (so
    offline, ``HF_HUB_OFFLINE=1``, from the cache alone; ``hub_cache``: HPS_HUB_CACHE)."""
    from huggingface_hub.errors import EntryNotFoundError

    styles = {}
    for style in STYLES:
        filename = f"{HUB_FOLDER}/{style}.json"
        try:
            path = hub_file(HUB_DATASET, filename, repo_type="dataset", cache_dir=hub_cache)
        except EntryNotFoundError as exc:  # also LocalEntryNotFoundError: not in the cache
            raise PromptSetError(
                f"benchmark prompts: {filename} is not in hub dataset {HUB_DATASET} "
                f"({_hub_reason(exc)}). {_PROMPTS_HINT}"
            ) from exc
        except Exception as exc:
            raise PromptSetError(
                f"benchmark prompts: hub download of {filename} from dataset {HUB_DATASET} "
                f"failed ({type(exc).__name__}). {_PROMPTS_HINT}"
            ) from exc
        styles[style] = _read_json(Path(path))
    return styles


_PROMPTS_HINT = (
    "Set HPS_PROMPTS (or --prompts) to a combined {style: [prompts]} JSON or a folder of "
    "<style>.json files."
)


def _hub_reason(exc: Exception) -> str:
    from huggingface_hub import constants

    if constants.is_offline_mode():
        return "offline, HF_HUB_OFFLINE=1: not in the local hub cache under HF_HOME"
    return type(exc).__name__
