"""Reading untrusted zip files safely.

Nothing here ever calls ``extractall`` or uses an entry's name as a path: callers get the
entries' checked names and read their bytes through :func:`read_member`, which streams with a
byte cap, and write them under names they build themselves. Refused: absolute paths and
drive letters, ``..`` components, symlinks and device/FIFO/socket entries (Unix mode bits in
the external attributes), encrypted entries, duplicate names, too many entries, too much
total uncompressed size, and entries whose compression ratio exceeds the limit. Declared
sizes may lie, so the caps are enforced on the bytes actually read as well.
"""

from __future__ import annotations

import stat
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

MIB = 1024 * 1024
RATIO_MIN_BYTES = 64 * 1024  # tiny entries may compress very well and harm nothing
CHUNK = 1024 * 1024


class ZipEntryError(Exception):
    """An entry of the zip is refused; ``entry`` names it."""

    def __init__(self, entry: str, reason: str) -> None:
        self.entry = entry
        self.reason = reason
        super().__init__(f"{entry!r}: {reason}")


@dataclass(frozen=True)
class ZipLimits:
    max_entries: int
    max_uncompressed_bytes: int
    max_ratio: float

    @classmethod
    def from_settings(cls, settings) -> ZipLimits:
        return cls(
            settings.max_zip_entries,
            settings.max_uncompressed_mb * MIB,
            settings.max_compression_ratio,
        )


@dataclass(frozen=True)
class Member:
    name: str  # checked, normalised relative posix path
    info: zipfile.ZipInfo


def entry_problem(info: zipfile.ZipInfo, limits: ZipLimits) -> str | None:
    """Why one entry is refused, or None."""
    raw = info.filename
    name = raw.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if any(part == ".." for part in name.split("/")):
        return "path with '..' (would escape the submission folder)"
    if "\x00" in name:
        return "NUL byte in the name"
    mode = info.external_attr >> 16
    if info.create_system == 3 and mode:
        if stat.S_ISLNK(mode):
            return "symbolic link"
        kind = stat.S_IFMT(mode)
        if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
            return "device, FIFO or socket entry (only regular files are accepted)"
    if info.flag_bits & 0x1:
        return "encrypted entry"
    if (
        not info.is_dir()
        and info.file_size >= RATIO_MIN_BYTES
        and info.file_size > limits.max_ratio * max(info.compress_size, 1)
    ):
        ratio = info.file_size / max(info.compress_size, 1)
        return (
            f"compression ratio {ratio:.0f}:1 is over the limit of {limits.max_ratio:g}:1 "
            "(zip bomb?; HPS_MAX_COMPRESSION_RATIO)"
        )
    if info.file_size > limits.max_uncompressed_bytes:
        return f"{info.file_size:,} bytes uncompressed is over the total limit"
    return None


def inspect(zf: zipfile.ZipFile, limits: ZipLimits) -> tuple[list[Member], list[str]]:
    """Check every entry; return (regular file members, problems naming entries)."""
    infos = zf.infolist()
    problems: list[str] = []
    if len(infos) > limits.max_entries:
        problems.append(
            f"the zip has {len(infos):,} entries, over the limit of {limits.max_entries:,} "
            "(HPS_MAX_ZIP_ENTRIES)"
        )
        return [], problems
    total = sum(i.file_size for i in infos)
    if total > limits.max_uncompressed_bytes:
        problems.append(
            f"the zip holds {total / MIB:,.0f} MiB uncompressed, over the limit of "
            f"{limits.max_uncompressed_bytes / MIB:,.0f} MiB (HPS_MAX_UNCOMPRESSED_MB)"
        )
    members: list[Member] = []
    seen: set[str] = set()
    for info in infos:
        reason = entry_problem(info, limits)
        if reason:
            problems.append(f"zip entry {info.filename!r}: {reason}")
            continue
        if info.is_dir():
            continue
        name = str(PurePosixPath(info.filename.replace("\\", "/")))
        if name in seen:
            problems.append(f"zip entry {info.filename!r}: appears twice in the zip")
            continue
        seen.add(name)
        members.append(Member(name, info))
    return members, problems


class ByteBudget:
    """Total bytes that may still be read from one archive."""

    def __init__(self, limit: int) -> None:
        self.left = limit


def read_member(
    zf: zipfile.ZipFile, member: Member, limits: ZipLimits, budget: ByteBudget
) -> bytes:
    """The entry's bytes, streamed with caps on its declared size, its ratio and the
    archive's total; raises ZipEntryError naming the entry."""
    info = member.info
    cap = min(info.file_size, budget.left)
    out = bytearray()
    try:
        with zf.open(info) as stream:
            while True:
                chunk = stream.read(min(CHUNK, cap + 1 - len(out)))
                if not chunk:
                    break
                out += chunk
                if len(out) > cap:
                    raise ZipEntryError(
                        member.name,
                        "holds more data than declared or than the total uncompressed limit "
                        "(HPS_MAX_UNCOMPRESSED_MB)",
                    )
                if len(out) >= RATIO_MIN_BYTES and len(out) > limits.max_ratio * max(
                    info.compress_size, 1
                ):
                    raise ZipEntryError(
                        member.name, "decompresses beyond the compression-ratio limit"
                    )
    except ZipEntryError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise ZipEntryError(member.name, f"cannot be read from the zip ({exc})") from None
    budget.left -= len(out)
    return bytes(out)
