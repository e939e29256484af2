"""Submissions by hub reference: ``hf://datasets/<owner>/<name>[@<revision>][/<path>]``.

A reference names a folder laid out as an upload, or a ``.zip`` / ``.tar`` / ``.tar.gz``
archive, in a hub dataset. :func:`resolve` pins the revision to a commit sha and lists the
files and their sizes *before* anything is downloaded, so every upload limit is applied to
the listing (:func:`listing_problems`); :func:`fetch` then downloads only those files, at
that commit, through huggingface_hub's cache. What is fetched goes through the same intake
as an upload (validation, hostile-archive checks, dedup).

Online, the revision is resolved by ``HfApi.resolve_revision`` and the files are listed by
``HfApi.get_paths_info`` / ``list_repo_tree``. Offline (``HF_HUB_OFFLINE=1``) the hub API
cannot list anything, so the listing comes from the local cache: the revision resolves
through the cache's ``refs/`` (``resolve_revision`` falls back to it), and names and sizes
are those of the files in the cached snapshot folder ``snapshots/<sha>/``, which is exactly
what can be fetched offline.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import HfApi, constants, hf_hub_download, snapshot_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    HfUriError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
    RevisionResolutionError,
)
from huggingface_hub.file_download import repo_folder_name
from huggingface_hub.hf_api import RepoFile
from huggingface_hub.utils import parse_hf_uri

from scorer.errors import HPSError

from .zipsafe import MIB

HUB_PREFIX = "hf://"
REPO_TYPE = "dataset"
ARCHIVE_SUFFIXES: tuple[str, ...] = (".zip", ".tar", ".tar.gz", ".tgz")


class HubReferenceError(HPSError, ValueError):
    """A hub reference cannot be used: malformed, or its repo, revision or path is missing."""


def is_hub_ref(text: object) -> bool:
    return isinstance(text, str) and text.strip().startswith(HUB_PREFIX)


@dataclass(frozen=True)
class HubRef:
    repo_id: str
    revision: str | None  # as given (branch, tag, PR ref or sha); None: the default branch
    path: str  # inside the repo, "" for its root

    def __str__(self) -> str:
        rev = f"@{self.revision}" if self.revision else ""
        return f"{HUB_PREFIX}datasets/{self.repo_id}{rev}" + (f"/{self.path}" if self.path else "")

    @property
    def is_archive(self) -> bool:
        return self.path.lower().endswith(ARCHIVE_SUFFIXES)


def parse_ref(text: str) -> HubRef:
    """Parse a dataset reference; raises HubReferenceError naming it."""
    text = (text or "").strip()
    try:
        uri = parse_hf_uri(text)
    except HfUriError as exc:
        raise HubReferenceError(f"{text!r} is not a hub reference ({exc})") from None
    if uri.type != REPO_TYPE or not text.startswith(f"{HUB_PREFIX}datasets/"):
        raise HubReferenceError(
            f"{text!r}: only dataset references are accepted "
            f"({HUB_PREFIX}datasets/<owner>/<name>[@<revision>][/<path>])"
        )
    path = uri.path_in_repo.strip("/")
    parts = path.split("/") if path else []
    if "\\" in path or any(p in ("", ".", "..") for p in parts):
        raise HubReferenceError(f"{text!r}: the path {path!r} must be a plain relative path")
    return HubRef(uri.id, uri.revision, path)


@dataclass(frozen=True)
class HubListing:
    """What a reference names at a pinned commit, listed before anything is downloaded."""

    ref: HubRef
    sha: str  # the resolved commit (never a branch name)
    is_archive: bool
    files: dict[str, int]  # repo path -> size in bytes

    @property
    def total(self) -> int:
        return sum(self.files.values())

    def relative(self, repo_path: str) -> str:
        """A listed folder file's name relative to the referenced folder."""
        return posixpath.relpath(repo_path, self.ref.path) if self.ref.path else repo_path

    def pinned(self) -> str:
        """The reference at its commit: anyone can fetch the same bytes with it."""
        return str(HubRef(self.ref.repo_id, self.sha, self.ref.path))


def offline() -> bool:
    return constants.is_offline_mode()


def resolve(ref: HubRef | str, *, max_files: int | None = None) -> HubListing:
    """Pin the reference's revision to a commit sha and list its files with their sizes.
    With ``max_files``, listing stops at one file more (the entry limit is then exceeded:
    a huge folder is not listed in full to be refused)."""
    ref = parse_ref(ref) if isinstance(ref, str) else ref
    sha = resolve_revision(ref)
    limit = None if max_files is None else max_files + 1
    files = _list_cached(ref, sha, limit) if offline() else _list_online(ref, sha, limit)
    is_archive = ref.is_archive and len(files) == 1 and ref.path in files
    if not is_archive and ref.path in files:
        raise HubReferenceError(
            f"{ref}: {ref.path!r} is a file, not a folder or a .zip/.tar/.tar.gz archive"
        )
    if not files:
        raise HubReferenceError(f"{ref}: the folder {ref.path or '/'!r} holds no files")
    return HubListing(ref, sha, is_archive, files)


def resolve_revision(ref: HubRef) -> str:
    wanted = ref.revision or constants.DEFAULT_REVISION
    try:
        resolved = HfApi().resolve_revision(ref.repo_id, repo_type=REPO_TYPE, revision=ref.revision)
    except RevisionNotFoundError:
        raise HubReferenceError(
            f"{ref}: revision {wanted!r} does not exist in dataset {ref.repo_id}"
        ) from None
    except RepositoryNotFoundError:
        raise HubReferenceError(
            f"{ref}: dataset {ref.repo_id} does not exist or is not public"
        ) from None
    except RevisionResolutionError:
        raise HubReferenceError(
            f"{ref}: revision {wanted!r} of dataset {ref.repo_id} cannot be resolved {_where()}"
        ) from None
    except (HfHubHTTPError, OSError) as exc:
        raise HubReferenceError(
            f"{ref}: the hub cannot be reached ({type(exc).__name__})"
        ) from None
    return str(resolved.resolved)


def _where() -> str:
    if offline():
        return "offline (HF_HUB_OFFLINE=1) from the local hub cache (HF_HOME)"
    return "on the hub"


def snapshot_folder(repo_id: str, sha: str) -> Path:
    """The library's snapshot folder of ``repo_id`` at ``sha`` in the hub cache."""
    return (
        Path(constants.HF_HUB_CACHE)
        / repo_folder_name(repo_id=repo_id, repo_type=REPO_TYPE)
        / "snapshots"
        / sha
    )


def _list_cached(ref: HubRef, sha: str, limit: int | None) -> dict[str, int]:
    """Names and sizes from the cached snapshot (what an offline fetch can return)."""
    snapshot = snapshot_folder(ref.repo_id, sha)
    if not snapshot.is_dir():
        raise HubReferenceError(
            f"{ref}: commit {sha[:12]} of dataset {ref.repo_id} is not in the local hub "
            "cache (offline, HF_HUB_OFFLINE=1)"
        )
    target = snapshot / ref.path
    if target.is_file():
        return {ref.path: target.stat().st_size}
    if not target.is_dir():
        raise HubReferenceError(_missing(ref, sha))
    files: dict[str, int] = {}
    for dirpath, dirnames, filenames in os.walk(target):
        dirnames.sort()
        for name in sorted(filenames):
            full = Path(dirpath) / name
            rel = full.relative_to(snapshot).as_posix()
            files[rel] = full.stat().st_size  # snapshot entries link to blobs: follow them
            if limit is not None and len(files) >= limit:
                return files
    return files


def _list_online(ref: HubRef, sha: str, limit: int | None) -> dict[str, int]:
    api = HfApi()
    try:
        if ref.path:
            found = api.get_paths_info(ref.repo_id, [ref.path], revision=sha, repo_type=REPO_TYPE)
            if not found:
                raise HubReferenceError(_missing(ref, sha))
            if isinstance(found[0], RepoFile):
                return {found[0].path: int(found[0].size)}
        tree = api.list_repo_tree(
            ref.repo_id, ref.path or None, recursive=True, revision=sha, repo_type=REPO_TYPE
        )
        files: dict[str, int] = {}
        for entry in tree:  # paged: stop asking for pages once over the limit
            if isinstance(entry, RepoFile):
                files[entry.path] = int(entry.size)
                if limit is not None and len(files) >= limit:
                    break
        return files
    except EntryNotFoundError:
        raise HubReferenceError(_missing(ref, sha)) from None
    except HfHubHTTPError as exc:
        raise HubReferenceError(f"{ref}: listing failed on the hub ({exc})") from None


def _missing(ref: HubRef, sha: str) -> str:
    return f"{ref}: no file or folder {ref.path!r} in dataset {ref.repo_id} at commit {sha[:12]}"


def listing_problems(listing: HubListing, settings) -> list[str]:
    """Every upload limit, applied to the listing before anything is downloaded."""
    problems = []
    label = str(listing.ref)
    if listing.is_archive:
        size = listing.total
        if size > settings.max_upload_mb * MIB:
            problems.append(
                f"{label}: the archive is {size / MIB:,.0f} MiB, over the limit of "
                f"{settings.max_upload_mb:,} MiB (HPS_MAX_UPLOAD_MB)"
            )
        return problems
    if len(listing.files) > settings.max_zip_entries:
        problems.append(
            f"{label}: the folder holds more than {settings.max_zip_entries:,} files, the "
            "limit (HPS_MAX_ZIP_ENTRIES)"
        )
    if listing.total > settings.max_uncompressed_mb * MIB:
        problems.append(
            f"{label}: the folder holds {listing.total / MIB:,.0f} MiB, over the limit of "
            f"{settings.max_uncompressed_mb:,} MiB (HPS_MAX_UNCOMPRESSED_MB)"
        )
    big = [p for p, size in listing.files.items() if size > settings.max_image_mb * MIB]
    for path in big[:10]:
        problems.append(
            f"{path!r}: {listing.files[path] / MIB:,.1f} MiB is over the image file limit of "
            f"{settings.max_image_mb} MiB (HPS_MAX_IMAGE_MB)"
        )
    return problems


@dataclass(frozen=True)
class FetchedFolder:
    """A fetched folder: listed names (relative to the reference) -> local files, with
    the sizes the listing gave (a file that grew is refused when read)."""

    label: str
    files: dict[str, Path]
    sizes: dict[str, int]


def fetch(listing: HubListing) -> Path | FetchedFolder:
    """Download what the listing names, at its commit: an archive's local path, or the
    folder's files. Only the listed files are fetched."""
    ref = listing.ref
    try:
        if listing.is_archive:
            return Path(
                hf_hub_download(ref.repo_id, ref.path, repo_type=REPO_TYPE, revision=listing.sha)
            )
        root = Path(
            snapshot_download(
                ref.repo_id,
                repo_type=REPO_TYPE,
                revision=listing.sha,
                allow_patterns=[f"{ref.path}/*"] if ref.path else None,
            )
        )
    except (EntryNotFoundError, HfHubHTTPError, OSError) as exc:
        raise HubReferenceError(
            f"{ref}: download failed at commit {listing.sha[:12]} ({type(exc).__name__})"
        ) from None
    files = {listing.relative(p): root / p for p in listing.files}
    sizes = {listing.relative(p): size for p, size in listing.files.items()}
    return FetchedFolder(listing.pinned(), files, sizes)
