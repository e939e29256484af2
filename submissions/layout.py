"""The benchmark layout, as a pure function of file names.

``<style>/<idx:05d>.<jpg|jpeg|png|webp>`` for the four styles, optionally under one
top-level folder. :func:`classify` maps names to (style, prompt index) and says what is
missing, extra, misnamed, duplicated or in an unknown folder (with a suggestion).
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from scorer.protocol import IMAGE_EXTENSIONS, STYLES, image_stem, index_ranges

ALIASES: dict[str, tuple[str, ...]] = {
    "anime": ("animation", "animations", "animes", "cartoon", "cartoons", "manga"),
    "concept-art": ("conceptart", "concept_art", "concepts", "concept", "conceptarts"),
    "paintings": ("painting", "paint", "art", "artwork", "artworks", "oilpainting"),
    "photo": ("photos", "photograph", "photographs", "photography", "realistic", "photoreal"),
}
_JUNK_NAMES = {".ds_store", "thumbs.db", "desktop.ini"}
_STEM = re.compile(r"^[0-9]{5}$")  # ASCII only: \d takes full-width and other digits
MAX_LISTED = 10


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_ALIAS_TO_STYLE = {
    **{_norm(a): style for style, aliases in ALIASES.items() for a in aliases},
    **{_norm(s): s for s in STYLES},
}


def suggest_style(folder: str) -> str | None:
    """The style an unknown folder name probably means: ``Animation`` -> ``anime``."""
    key = _norm(folder)
    if key in _ALIAS_TO_STYLE:
        return _ALIAS_TO_STYLE[key]
    close = difflib.get_close_matches(key, list(_ALIAS_TO_STYLE), n=1, cutoff=0.6)
    return _ALIAS_TO_STYLE[close[0]] if close else None


def is_junk(name: str) -> bool:
    parts = PurePosixPath(name).parts
    base = parts[-1] if parts else name
    return "__MACOSX" in parts or base.lower() in _JUNK_NAMES or base.startswith("._")


@dataclass
class Layout:
    images: dict[tuple[str, int], str] = field(default_factory=dict)  # -> source name
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    missing: dict[str, list[int]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    prefix: str | None = None  # the top-level folder that was stripped


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_LISTED])
    return shown + (f" (and {len(names) - MAX_LISTED} more)" if len(names) > MAX_LISTED else "")


def _strip_prefix(names: list[str]) -> tuple[list[tuple[str, ...]], str | None]:
    parts = [PurePosixPath(n).parts for n in names]
    tops = {p[0] for p in parts}
    if (
        len(tops) == 1
        and all(len(p) >= 2 for p in parts)
        and next(iter(tops)) not in STYLES
        and any(len(p) >= 3 for p in parts)
    ):
        return [p[1:] for p in parts], next(iter(tops))
    return parts, None


def _nested_styles(files: list[str], prefix: str | None) -> str | None:
    """If the style folders sit one or more levels too deep (``a/b/anime/00000.png``), the
    error naming the extra level(s) and saying how to fix it; else None."""
    deeper: dict[tuple[str, ...], int] = defaultdict(int)
    for name in files:
        parts = PurePosixPath(name).parts
        start = 1 if prefix is not None else 0
        for k in range(start + 1, len(parts) - 1):
            if parts[k] in STYLES:
                deeper[parts[:k]] += 1
                break
    if not deeper:
        return None
    found, _ = max(deeper.items(), key=lambda kv: kv[1])
    allowed = found[:1] if prefix is not None else ()
    extra = found[len(allowed) :]
    where = "/".join(found) + "/"
    inside = f"into {'/'.join(allowed) + '/'!r}" if allowed else "to the top of the zip"
    levels = "one folder level" if len(extra) == 1 else f"{len(extra)} folder levels"
    return (
        f"the style folders are {levels} too deep, under {where!r}: the extra "
        f"{'level is' if len(extra) == 1 else 'levels are'} {'/'.join(extra)!r}. "
        f"Zip the folder {found[-1]!r} itself, or move "
        f"{', '.join(STYLES)} up {inside}"
    )


def classify(names: Iterable[str], expected: Mapping[str, int]) -> Layout:
    """Classify regular-file names; ``expected`` is the prompt count of each style."""
    names = list(names)
    layout = Layout()
    junk = [n for n in names if is_junk(n)]
    if junk:
        layout.warnings.append(f"ignored {len(junk)} system file(s): {_listing(junk)}")
    kept = [n for n in names if not is_junk(n)]
    parts_list, layout.prefix = _strip_prefix(kept)

    unknown: dict[str, list[str]] = defaultdict(list)
    problems: dict[str, list[str]] = defaultdict(list)  # message -> names
    seen: dict[tuple[str, int], list[str]] = defaultdict(list)
    ignored: list[str] = []
    for name, parts in zip(kept, parts_list):
        path = PurePosixPath(*parts)
        ext = path.suffix.lower()
        looks_like_image = ext in IMAGE_EXTENSIONS or bool(_STEM.match(path.stem))
        if len(parts) == 1:
            (problems["images outside a style folder"] if looks_like_image else ignored).append(
                name
            )
            continue
        folder = parts[0]
        if folder not in STYLES:
            unknown[folder].append(name)
            continue
        if len(parts) > 2:
            key = "files in a sub-folder of a style folder (images must sit directly in it)"
            (problems[key] if looks_like_image else ignored).append(name)
            continue
        if not _STEM.match(path.stem):
            if ext in IMAGE_EXTENSIONS:
                problems[
                    "image names that are not a 5-digit prompt index (00000.jpg, 00001.jpg, ...)"
                ].append(name)
            else:
                ignored.append(name)
            continue
        if ext not in IMAGE_EXTENSIONS:
            problems[f"unsupported file types (accepted: {', '.join(IMAGE_EXTENSIONS)})"].append(
                name
            )
            continue
        index = int(path.stem)
        if index >= expected.get(folder, 0):
            last = image_stem(expected.get(folder, 0) - 1)
            problems[f"indices beyond the style's prompts (00000-{last})"].append(name)
            continue
        seen[(folder, index)].append(name)

    for folder, files in sorted(unknown.items()):
        nested = _nested_styles(files, layout.prefix)
        if nested:
            layout.errors.append(nested)
            continue
        hint = suggest_style(folder)
        advice = f"did you mean {hint!r}?" if hint else f"the style folders are {', '.join(STYLES)}"
        layout.errors.append(f"unknown folder {folder!r} ({len(files)} file(s)): {advice}")
    for message, files in problems.items():
        layout.errors.append(f"{len(files)} {message}: {_listing(files)}")
    for key, files in sorted(seen.items()):
        if len(files) > 1:
            style, index = key
            layout.errors.append(
                f"{style}/{image_stem(index)}: {len(files)} files for one prompt "
                f"({_listing(sorted(files))}); keep one"
            )
        else:
            layout.images[key] = files[0]
    if ignored:
        layout.warnings.append(f"ignored {len(ignored)} extra file(s): {_listing(ignored)}")

    for style in STYLES:
        present = {i for (s, i) in seen if s == style}
        layout.counts[style] = len(present)
        missing = sorted(set(range(expected.get(style, 0))) - present)
        if missing:
            layout.missing[style] = missing
    return layout


def describe_missing(missing: Mapping[str, list[int]]) -> dict[str, str]:
    return {style: index_ranges(indices) for style, indices in missing.items()}
