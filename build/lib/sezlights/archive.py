"""Read ``.tgz`` archives safely, as one stream, member by member.

An archive is read once, front to back: gzip (ISA-L's ``igzip`` where installed,
2-3x zlib's speed; it checks the CRC and length that ``tarfile``'s own gz reader
ignores), then the tar headers. :func:`members` yields each regular file while it
is being decompressed, so a member is used without anything of the archive
touching the disk; what the caller does not read is skipped. Only regular files
and folders with plain relative names are accepted: absolute paths, ``..`` and
links are refused. Any stream error, also one met while the caller reads a
member, becomes one :class:`~sezlights.errors.CorruptFileError`.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import CorruptFileError

CHUNK = 1 << 22
_STREAM_ERRORS: tuple[type[BaseException], ...] = (tarfile.TarError, EOFError, zlib.error, OSError)

try:  # ISA-L: the same gzip format, decompressed 2-3x faster
    from isal import igzip as _gzip
    from isal.isal_zlib import error as _isal_error

    _STREAM_ERRORS += (_isal_error,)
except ImportError:  # pragma: no cover - isal is a dependency; keep working without it
    _gzip = gzip


def open_gzip(path: str | Path):
    """A gzip reader for ``path`` (ISA-L where available), checking CRC and length."""
    return _gzip.open(path, "rb")


@dataclass
class Member:
    """One regular file of an archive: its name, size, and a reader over its bytes."""

    name: str
    size: int
    file: io.RawIOBase


def corrupt(archive: Path, exc: BaseException) -> CorruptFileError:
    return CorruptFileError(
        f"{archive.name} is corrupt ({type(exc).__name__}: {exc}); delete it and run again "
        "to download it anew."
    )


def members(archive: str | Path) -> Iterator[Member]:
    """Yield every regular file of ``archive`` in order; the stream is checked to its end.

    Plain ustar headers (what EOG's archives hold) are parsed with
    ``tarfile.TarInfo.frombuf`` and member bytes are read straight from the gzip
    stream, one copy fewer than ``tarfile``'s stream mode. From the first pax or
    GNU extension header on, ``tarfile`` itself reads the rest of the stream.
    """
    archive = Path(archive)
    try:
        yield from _members(archive)
    except CorruptFileError:
        raise
    except _STREAM_ERRORS as exc:
        raise corrupt(archive, exc) from None


def verify(archive: str | Path) -> dict[str, int]:
    """Decompress the whole archive, checking every member; return {name: size}."""
    return {m.name: m.size for m in members(archive)}


def check_member(archive: Path, info: tarfile.TarInfo) -> None:
    p = PurePosixPath(info.name)
    if p.is_absolute() or ".." in p.parts:
        raise CorruptFileError(
            f"{archive.name}: member {info.name!r} points outside the archive folder; "
            "refusing it. Delete the file and download it again; report it if it persists."
        )
    if not (info.isfile() or info.isdir()):
        raise CorruptFileError(
            f"{archive.name}: member {info.name!r} is a link or special file; refusing it. "
            "Delete the file and download it again; report it if it persists."
        )


_EXTENDED = {
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
    tarfile.GNUTYPE_SPARSE,
}


class _MemberReader(io.RawIOBase):
    """The ``size`` bytes of one member, read from the decompressed stream."""

    def __init__(self, stream, size: int, archive: Path):
        self._stream, self.left, self._archive = stream, size, archive

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self.left <= 0:
            return 0
        view = memoryview(b).cast("B")[: min(len(b), self.left)]
        try:
            n = self._stream.readinto(view)
        except _STREAM_ERRORS as exc:
            raise corrupt(self._archive, exc) from None
        if not n:
            raise corrupt(self._archive, EOFError("the archive ends inside a member"))
        self.left -= n
        return n

    def read(self, size: int = -1) -> bytearray:
        """Exactly ``size`` bytes (fewer only at the member's end), in a new bytearray
        (not copied again into ``bytes``: a row of a full-size tile is 115 kB, read tens
        of thousands of times a month)."""
        size = self.left if size is None or size < 0 else min(size, self.left)
        buf = bytearray(size)
        view, got = memoryview(buf), 0
        while got < size:
            got += self.readinto(view[got:])
        return buf

    def drain(self, scratch: memoryview) -> None:
        while self.readinto(scratch):
            pass


def _drain(f, scratch: memoryview) -> None:
    while f.readinto(scratch):
        pass


class _Prepend(io.RawIOBase):
    """``head`` followed by the rest of ``stream``: hands a header already read back to tarfile."""

    def __init__(self, head: bytes, stream):
        self._head, self._stream = memoryview(head), stream

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self._head:
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        return self._stream.readinto(b)


def _members(archive: Path) -> Iterator[Member]:
    scratch = memoryview(bytearray(CHUNK))
    with open_gzip(archive) as gz:
        while True:
            block = gz.read(512)
            if len(block) < 512:
                raise EOFError("the archive ends inside a header")
            if block == bytes(512):  # end-of-archive marker
                break
            info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
            if info.type in _EXTENDED:
                rest = io.BufferedReader(_Prepend(block, gz), buffer_size=1 << 20)
                yield from _members_tarfile(archive, rest, scratch)
                break
            check_member(archive, info)
            reader = _MemberReader(gz, info.size, archive)
            if info.isfile():
                yield Member(info.name, info.size, reader)
            reader.drain(scratch)
            _MemberReader(gz, -info.size % 512, archive).drain(scratch)
        _drain(gz, scratch)  # the rest, up to the gzip trailer: checks CRC and length


def _members_tarfile(archive: Path, stream, scratch: memoryview) -> Iterator[Member]:
    with tarfile.open(fileobj=stream, mode="r|", bufsize=1 << 20) as tar:
        for info in tar:
            check_member(archive, info)
            if info.isfile():
                reader = _MemberReader(tar.extractfile(info), info.size, archive)
                yield Member(info.name, info.size, reader)
                reader.drain(scratch)
    _drain(stream, scratch)
