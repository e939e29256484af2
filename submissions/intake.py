"""Intake of a submission (zip or tar archive, folder, or a folder fetched from the hub):
safe reading, layout, image checks.

:func:`intake` reads every benchmark image once: it hashes it, optionally writes it under a
destination folder with a name built here (``<style>/<idx:05d><ext>``, never the entry's
own name), and checks it with what scoring runs: :func:`scorer.preprocess.load_and_preprocess`
(the same decode, format allowlist, pixel limit, and resize, without the model), plus the
layout's rule that the extension says the format. So anything that would fail scoring (a
truncated file, a GIF, a 40000x1 strip) is refused here, by name, with the reason. PNGs are
also read on to their end chunk (``verify``), which scoring does not need.

Folders are walked without following symbolic links; links and special files are refused,
and files are opened with ``O_NOFOLLOW``.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import zipfile
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from scorer.errors import ImageError
from scorer.preprocess import FORMATS, decoding, load_and_preprocess
from scorer.prompts import PromptSets
from scorer.protocol import STYLES, image_stem

from .hub import FetchedFolder
from .layout import classify, describe_missing
from .report import ValidationReport
from .tarsafe import TarArchive, looks_like_tar
from .zipsafe import MIB, ByteBudget, ZipEntryError, ZipLimits, inspect, read_member

MAX_IMAGE_ERRORS = 50


def check_image(data: bytes, name: str, max_pixels: int) -> None:
    """Raise ImageError naming ``name`` if the image cannot be scored: decoded and
    preprocessed exactly as scoring will, and its extension must say its format."""
    load_and_preprocess(data, name=name, max_pixels=max_pixels, check_extension=True)
    if data.startswith(b"\x89PNG"):  # load() stops at the pixels; verify() reads on to IEND
        with decoding(name, max_pixels):
            Image.open(io.BytesIO(data), formats=FORMATS).verify()


class _ZipSource:
    def __init__(self, path: Path, settings) -> None:
        self.limits = ZipLimits.from_settings(settings)
        self.budget = ByteBudget(self.limits.max_uncompressed_bytes)
        self.zf = zipfile.ZipFile(path)
        members, self.problems = inspect(self.zf, self.limits)
        self.members = {m.name: m for m in members}
        self.names = list(self.members)

    def size(self, name: str) -> int:
        return self.members[name].info.file_size

    def read(self, name: str) -> bytes:
        return read_member(self.zf, self.members[name], self.limits, self.budget)

    def close(self) -> None:
        self.zf.close()


class _FolderSource:
    def __init__(self, root: Path, settings) -> None:
        self.root = root
        self.budget = ByteBudget(settings.max_uncompressed_mb * MIB)
        self.names: list[str] = []
        self.problems: list[str] = []
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            rel_dir = Path(dirpath).relative_to(root)
            for d in list(dirnames):
                if os.path.islink(os.path.join(dirpath, d)):
                    self.problems.append(
                        f"{(rel_dir / d).as_posix()!r}: symbolic link (not followed)"
                    )
                    dirnames.remove(d)
            for f in filenames:
                rel = (rel_dir / f).as_posix()
                mode = os.lstat(os.path.join(dirpath, f)).st_mode
                if stat.S_ISLNK(mode):
                    self.problems.append(f"{rel!r}: symbolic link (not followed)")
                elif not stat.S_ISREG(mode):
                    self.problems.append(f"{rel!r}: not a regular file")
                else:
                    self.names.append(rel)
        self.names.sort()

    def size(self, name: str) -> int:
        return os.lstat(self.root / name).st_size

    def read(self, name: str) -> bytes:
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(self.root / name, flags)
        except OSError as exc:
            raise ZipEntryError(name, f"cannot be opened ({exc.strerror})") from None
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise ZipEntryError(name, "not a regular file")
            data = fh.read(self.budget.left + 1)
        if len(data) > self.budget.left:
            raise ZipEntryError(
                name, "the folder holds more than the size limit (HPS_MAX_UNCOMPRESSED_MB)"
            )
        self.budget.left -= len(data)
        return data

    def close(self) -> None:
        pass


class _FetchedSource:
    """A folder fetched from the hub: listed names -> files in the hub cache. The names come
    from the listing (checked against the limits before the download); the files are read
    through the cache's links to its blobs, refused if larger than listed."""

    def __init__(self, fetched: FetchedFolder, settings) -> None:
        self.fetched = fetched
        self.budget = ByteBudget(settings.max_uncompressed_mb * MIB)
        self.names = sorted(fetched.files)
        self.problems: list[str] = []

    def size(self, name: str) -> int:
        return self.fetched.sizes[name]

    def read(self, name: str) -> bytes:
        listed = self.fetched.sizes[name]
        try:
            with open(self.fetched.files[name], "rb") as fh:
                if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                    raise ZipEntryError(name, "not a regular file")
                data = fh.read(min(listed, self.budget.left) + 1)
        except OSError as exc:
            reason = f"cannot be read from the hub cache ({exc.strerror})"
            raise ZipEntryError(name, reason) from None
        if len(data) != listed or len(data) > self.budget.left:
            raise ZipEntryError(
                name, f"holds {len(data):,} bytes where the hub listing gave {listed:,}"
            )
        self.budget.left -= len(data)
        return data

    def close(self) -> None:
        pass


@dataclass
class IntakeResult:
    report: ValidationReport
    files: dict[tuple[str, int], str] = field(default_factory=dict)  # -> written relpath
    content_hash: str | None = None


def _open_source(path: Path | FetchedFolder, settings, report: ValidationReport):
    if isinstance(path, FetchedFolder):
        return _FetchedSource(path, settings)
    if path.is_dir():
        return _FolderSource(path, settings)
    if not path.is_file():
        report.errors.append(f"{str(path)!r} is neither a zip file nor a folder")
        return None
    size = path.stat().st_size
    if size > settings.max_upload_mb * MIB:
        report.errors.append(
            f"the upload is {size / MIB:,.0f} MiB, over the limit of "
            f"{settings.max_upload_mb:,} MiB (HPS_MAX_UPLOAD_MB)"
        )
        return None
    if not zipfile.is_zipfile(path) and looks_like_tar(path):
        return TarArchive(path, ZipLimits.from_settings(settings), settings.data_path / "tmp")
    try:
        return _ZipSource(path, settings)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        report.errors.append(f"{path.name!r} is not a readable zip file ({exc})")
        return None


def intake(
    path: str | os.PathLike | FetchedFolder,
    prompts: PromptSets,
    settings,
    *,
    partial: bool = False,
    dest: Path | None = None,
) -> IntakeResult:
    """Validate a submission; with ``dest``, also copy its images there."""
    if not isinstance(path, FetchedFolder):
        path = Path(path)
    label = path.label if isinstance(path, FetchedFolder) else path.name
    expected: Mapping[str, int] = {s: len(prompts.styles[s]) for s in STYLES}
    report = ValidationReport(label, partial_allowed=partial, expected=dict(expected))
    result = IntakeResult(report)
    source = _open_source(path, settings, report)
    if source is None:
        return result
    try:
        report.errors.extend(source.problems)
        layout = classify(source.names, expected)
        report.errors.extend(layout.errors)
        report.warnings.extend(layout.warnings)
        report.counts = dict(layout.counts)
        report.missing = describe_missing(layout.missing)
        if report.missing and partial:
            report.warnings.append(
                "incomplete: stored as a partial result, shown as partial, never ranked"
            )
        if source.problems:
            report.errors.append("images were not checked: the upload itself is refused")
            return result
        _read_images(source, layout.images, settings, dest, result)
    finally:
        source.close()
    return result


def _read_images(source, images, settings, dest: Path | None, result: IntakeResult) -> None:
    report = result.report
    digests: list[str] = []
    image_errors: list[str] = []
    pending: list[Future] = []
    workers = max(1, min(4, os.cpu_count() or 1))

    def collect(futures: list[Future]) -> None:
        for future in futures:
            try:
                future.result()
            except ImageError as exc:
                image_errors.append(str(exc))

    with ThreadPoolExecutor(max_workers=workers) as pool:
        max_bytes = settings.max_image_mb * MIB
        for (style, index), name in sorted(images.items()):
            try:
                if source.size(name) > max_bytes:
                    raise ZipEntryError(
                        name,
                        f"{source.size(name) / MIB:,.1f} MiB is over the image file limit of "
                        f"{settings.max_image_mb} MiB (HPS_MAX_IMAGE_MB)",
                    )
                data = source.read(name)
            except ZipEntryError as exc:
                image_errors.append(f"{exc.entry}: {exc.reason}")
                continue
            digest = hashlib.sha256(data).hexdigest()
            digests.append(f"{style}/{image_stem(index)} {digest}\n")
            if dest is not None:
                rel = f"{style}/{image_stem(index)}{Path(name).suffix.lower()}"
                target = dest / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(target, "xb") as fh:
                    fh.write(data)
                result.files[(style, index)] = rel
            pending.append(pool.submit(check_image, data, name, settings.max_image_pixels))
            if len(pending) >= 2 * workers:
                collect(pending)
                pending = []
        collect(pending)
    if image_errors:
        shown = image_errors[:MAX_IMAGE_ERRORS]
        report.errors.extend(shown)
        if len(image_errors) > len(shown):
            report.errors.append(f"... and {len(image_errors) - len(shown)} more unreadable")
    result.content_hash = hashlib.sha256("".join(sorted(digests)).encode()).hexdigest()


def validate(
    path: str | os.PathLike | FetchedFolder, prompts: PromptSets, settings, *, partial: bool = False
) -> ValidationReport:
    """The validation report of an archive or folder; writes nothing anywhere."""
    return intake(path, prompts, settings, partial=partial).report
