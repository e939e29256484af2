"""Reading untrusted tar archives (``.tar``, ``.tar.gz``) safely, with the zip limits.

The contract is :mod:`submissions.zipsafe`'s: nothing is ever extracted and no entry's name
is used as a path; callers get checked names and read bytes through :meth:`TarArchive.read`
with a byte cap. Refused: absolute paths, ``..`` components, symbolic and hard links,
device/FIFO entries and anything else that is not a regular file or a folder, sparse
entries, duplicate names, too many entries (``HPS_MAX_ZIP_ENTRIES``), too much total size
(``HPS_MAX_UNCOMPRESSED_MB``). A gzip-compressed tar is first decompressed to a temporary
plain tar, streamed with a cap on the bytes actually produced and on the ratio of those
bytes to the compressed size (``HPS_MAX_COMPRESSION_RATIO``), so a tar bomb stops early and
entries are then read by seeking, in any order.
"""

from __future__ import annotations

import gzip
import os
import tarfile
import tempfile
import zlib
from pathlib import Path, PurePosixPath

from .zipsafe import CHUNK, MIB, RATIO_MIN_BYTES, ByteBudget, ZipEntryError, ZipLimits

GZIP_MAGIC = b"\x1f\x8b"
BLOCK = 512
# Header, padding and end-of-archive blocks around the file data: at most two blocks per
# entry (long names use one more header) plus the end marker and the record padding.
_OVERHEAD_PER_ENTRY = 3 * BLOCK
_TRAILER = 20 * BLOCK


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def looks_like_tar(path: Path) -> bool:
    """A gzip stream (checked as a tar when opened) or a plain tar."""
    try:
        return is_gzip(path) or tarfile.is_tarfile(path)
    except OSError:
        return False


def entry_problem(info: tarfile.TarInfo, limits: ZipLimits) -> str | None:
    """Why one tar entry is refused, or None."""
    name = info.name
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if any(part == ".." for part in name.replace("\\", "/").split("/")):
        return "path with '..' (would escape the submission folder)"
    if "\x00" in name:
        return "NUL byte in the name"
    if info.issym():
        return f"symbolic link (to {info.linkname!r})"
    if info.islnk():
        return f"hard link (to {info.linkname!r})"
    if info.isdev():
        return "device or FIFO entry (only regular files are accepted)"
    if not (info.isfile() or info.isdir()):
        return "not a regular file"
    if info.issparse():
        return "sparse entry"
    if info.size > limits.max_uncompressed_bytes:
        return f"{info.size:,} bytes is over the total limit"
    return None


class TarArchive:
    """A checked tar: ``names`` of its regular files, ``problems`` naming refused entries."""

    def __init__(self, path: Path, limits: ZipLimits, workdir: Path) -> None:
        self.limits = limits
        self.budget = ByteBudget(limits.max_uncompressed_bytes)
        self.problems: list[str] = []
        self.members: dict[str, tarfile.TarInfo] = {}
        self._plain: Path | None = None
        self.tf: tarfile.TarFile | None = None
        plain = path
        if is_gzip(path):
            plain = self._plain = self._gunzip(path, workdir)
            if plain is None:
                return
        try:
            self.tf = tarfile.open(plain, "r:")  # noqa: SIM115 (closed by close())
            self._inspect()
        except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
            self.problems.append(f"{path.name!r} is not a readable tar archive ({exc})")

    @property
    def names(self) -> list[str]:
        return list(self.members)

    def _gunzip(self, path: Path, workdir: Path) -> Path | None:
        limits = self.limits
        compressed = max(path.stat().st_size, 1)
        cap = limits.max_uncompressed_bytes + (limits.max_entries + 1) * _OVERHEAD_PER_ENTRY
        cap += _TRAILER
        workdir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".untar-", suffix=".tar", dir=workdir)
        out = Path(name)
        written = 0
        problem = None
        try:
            with os.fdopen(fd, "wb") as dst, gzip.open(path, "rb") as src:
                while chunk := src.read(CHUNK):
                    written += len(chunk)
                    if written > cap:
                        problem = (
                            f"{path.name!r} decompresses to more than the limit of "
                            f"{limits.max_uncompressed_bytes / MIB:,.0f} MiB "
                            "(HPS_MAX_UNCOMPRESSED_MB)"
                        )
                        break
                    if written >= RATIO_MIN_BYTES and written > limits.max_ratio * compressed:
                        problem = (
                            f"{path.name!r}: compression ratio over the limit of "
                            f"{limits.max_ratio:g}:1 (tar bomb?; HPS_MAX_COMPRESSION_RATIO)"
                        )
                        break
                    dst.write(chunk)
        except (OSError, EOFError, zlib.error) as exc:
            problem = f"{path.name!r} is not a readable tar.gz file ({exc})"
        if problem:
            out.unlink(missing_ok=True)
            self.problems.append(problem)
            return None
        return out

    def _inspect(self) -> None:
        limits = self.limits
        total = 0
        count = 0
        for info in self.tf:
            count += 1
            if count > limits.max_entries:
                self.problems.append(
                    f"the tar has more than {limits.max_entries:,} entries, over the limit "
                    "(HPS_MAX_ZIP_ENTRIES)"
                )
                self.members.clear()
                return
            reason = entry_problem(info, limits)
            if reason:
                self.problems.append(f"tar entry {info.name!r}: {reason}")
                continue
            if info.isdir():
                continue
            total += info.size
            name = str(PurePosixPath(info.name.replace("\\", "/")))
            if name in self.members:
                self.problems.append(f"tar entry {info.name!r}: appears twice in the tar")
                continue
            self.members[name] = info
        if total > limits.max_uncompressed_bytes:
            self.problems.append(
                f"the tar holds {total / MIB:,.0f} MiB, over the limit of "
                f"{limits.max_uncompressed_bytes / MIB:,.0f} MiB (HPS_MAX_UNCOMPRESSED_MB)"
            )

    def size(self, name: str) -> int:
        return self.members[name].size

    def read(self, name: str) -> bytes:
        """The entry's bytes, capped by its size and by the archive's total."""
        info = self.members[name]
        cap = min(info.size, self.budget.left)
        try:
            stream = self.tf.extractfile(info)
            data = stream.read(cap + 1) if stream is not None else b""
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise ZipEntryError(name, f"cannot be read from the tar ({exc})") from None
        if len(data) > cap or len(data) < info.size:
            raise ZipEntryError(
                name,
                "holds a different size than declared or more than the total limit "
                "(HPS_MAX_UNCOMPRESSED_MB)",
            )
        self.budget.left -= len(data)
        return data

    def close(self) -> None:
        if self.tf is not None:
            self.tf.close()
        if self._plain is not None:
            self._plain.unlink(missing_ok=True)
