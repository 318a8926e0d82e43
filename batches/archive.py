"""Reading an uploaded ZIP without trusting it: caps on entries and unpacked bytes, no path tricks.

Nothing is ever written under an entry's own name: each photo is copied, within its cap, into an anonymous
temporary file, so a name like `../../etc/passwd` can only be reported, never used. The sizes an archive
declares are checked first, and the bytes actually inflated are counted as well (declared sizes can lie).
"""

from __future__ import annotations

import stat
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from batches.naming import clean_path, is_hidden

_CHUNK = 1 << 16
NESTED = (".zip", ".7z", ".rar", ".tar", ".gz", ".tgz", ".bz2", ".xz")


class ArchiveError(ValueError):
    """The whole archive is refused; the message is shown to users verbatim."""


class EntryError(ValueError):
    """One entry is refused (reported next to its name); the rest of the archive goes on."""


@dataclass(frozen=True)
class Limits:
    max_entries: int
    max_total_bytes: int
    max_file_bytes: int


@dataclass(frozen=True)
class Entry:
    path: str
    info: zipfile.ZipInfo


def entries(archive: zipfile.ZipFile, limits: Limits) -> tuple[list[Entry], dict[str, str]]:
    """The archive's usable entries, and {name: why not} for the ones we will not open.

    Raises ArchiveError when the archive as a whole is over the caps (counted from its directory).
    """
    infos = archive.infolist()
    files = [i for i in infos if not i.is_dir()]
    if len(files) > limits.max_entries:
        raise ArchiveError(
            f"This ZIP holds {len(files):,} files; a batch takes at most {limits.max_entries:,}. "
            "Split it into several batches."
        )
    declared = sum(i.file_size for i in files)
    if declared > limits.max_total_bytes:
        raise ArchiveError(
            f"This ZIP unpacks to {declared / 2**20:,.0f} MB; a batch may unpack to at most "
            f"{limits.max_total_bytes // 2**20:,} MB."
        )
    usable: list[Entry] = []
    skipped: dict[str, str] = {}
    seen: set[str] = set()
    for info in files:
        raw = info.filename
        path = clean_path(raw)
        if path is None:
            skipped[raw[:200]] = "a name that points outside the archive; ignored"
            continue
        if is_hidden(path):
            continue
        if path in seen:
            skipped[path] = "a second entry with the same name; ignored"
            continue
        seen.add(path)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            skipped[path] = "a symbolic link; ignored"
        elif info.flag_bits & 0x1:
            skipped[path] = "encrypted; ignored"
        elif path.lower().endswith(NESTED):
            skipped[path] = "an archive inside the ZIP is not opened; ignored"
        elif info.file_size > limits.max_file_bytes:
            skipped[path] = f"over the {limits.max_file_bytes // 2**20} MB limit for a photo"
        else:
            usable.append(Entry(path, info))
    return usable, skipped


class Unpacker:
    """Copies entries out one at a time, counting the bytes actually inflated against the batch's cap."""

    def __init__(self, archive: zipfile.ZipFile, limits: Limits):
        self.archive = archive
        self.limits = limits
        self.total = 0

    def open(self, entry: Entry) -> BinaryIO:
        """The entry's bytes in a temporary file (the caller closes it); ArchiveError past a cap."""
        out = tempfile.TemporaryFile()  # noqa: SIM115 (handed to the caller, who closes it)
        size = 0
        try:
            with self.archive.open(entry.info) as src:
                while chunk := src.read(_CHUNK):
                    size += len(chunk)
                    self.total += len(chunk)
                    if size > min(self.limits.max_file_bytes, entry.info.file_size):
                        raise EntryError("it unpacks to more than the archive says; ignored")
                    if self.total > self.limits.max_total_bytes:
                        raise ArchiveError(
                            f"This ZIP unpacks to more than {self.limits.max_total_bytes // 2**20:,} MB; "
                            "the rest was not read."
                        )
                    out.write(chunk)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError) as exc:
            out.close()
            raise EntryError(f"could not be unpacked ({exc})") from None
        except BaseException:
            out.close()
            raise
        out.seek(0)
        return out


def open_zip(fp: BinaryIO) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(fp)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ArchiveError(f"This file is not a ZIP archive we can read ({exc}).") from None


def iter_entries(fp: BinaryIO, limits: Limits) -> Iterator[tuple[str, BinaryIO | None, str]]:
    """Convenience for callers that only stream: yields (path, file or None, message)."""
    archive = open_zip(fp)
    usable, skipped = entries(archive, limits)
    for path, message in skipped.items():
        yield path, None, message
    unpacker = Unpacker(archive, limits)
    for entry in usable:
        try:
            yield entry.path, unpacker.open(entry), ""
        except EntryError as exc:
            yield entry.path, None, str(exc)
