"""Read EOG tile archives (``.tgz`` of ``avg_rade9h.tif`` + ``cf_cvg.tif``) safely.

Archives are read as a stream (gzip, then ``tarfile`` mode ``r|``; the gzip reader
checks the CRC and length that tarfile's own gz reader ignores), so a member is
used while it is decompressed and nothing else of the archive touches the disk.
Decompression uses ISA-L (``isal.igzip``, 2-3x zlib's speed) where it is installed,
else the standard library's ``gzip``. Only
regular-file members with plain relative names are accepted: absolute paths,
``..`` and links are refused, and nothing is written outside the target folder.
"""

from __future__ import annotations

import gzip
import io
import re
import shutil
import tarfile
import zlib
from pathlib import Path, PurePosixPath

from .atomic import atomic_path
from .errors import CorruptArchiveError

KINDS = ("avg_rade9h", "cf_cvg")
_KIND_RE = {k: re.compile(rf"(^|[._/]){k}\.tif$") for k in KINDS}
_STREAM_ERRORS = (tarfile.TarError, EOFError, zlib.error, OSError)  # BadGzipFile is an OSError
CHUNK = 1 << 22

try:  # ISA-L: the same gzip format, decompressed 2-3x faster
    from isal import igzip as _gzip
    from isal.isal_zlib import error as _isal_error

    _STREAM_ERRORS += (_isal_error,)
except ImportError:  # pragma: no cover - isal is a dependency; keep working without it
    _gzip = gzip


def open_gzip(path: str | Path):
    """A gzip reader for ``path`` (ISA-L where available), checking CRC and length."""
    return _gzip.open(path, "rb")


def member_kind(name: str) -> str | None:
    for kind, rx in _KIND_RE.items():
        if rx.search(name):
            return kind
    return None


def check_member(archive: Path, member: tarfile.TarInfo) -> None:
    p = PurePosixPath(member.name)
    if p.is_absolute() or ".." in p.parts:
        raise CorruptArchiveError(
            f"{archive.name}: member {member.name!r} points outside the archive folder; "
            "refusing it. Delete the file and download it again; report it if it persists."
        )
    if not (member.isfile() or member.isdir()):
        raise CorruptArchiveError(
            f"{archive.name}: member {member.name!r} is a link or special file; refusing it. "
            "Delete the file and download it again; report it if it persists."
        )


def _drain(f, scratch: bytearray | None = None) -> None:
    """Read ``f`` to its end into ``scratch``, keeping nothing.

    At the end of a gzip stream this checks its CRC and length.
    """
    view = memoryview(scratch if scratch is not None else bytearray(CHUNK))
    while f.readinto(view):
        pass


def _corrupt(archive: Path, exc: Exception) -> CorruptArchiveError:
    return CorruptArchiveError(
        f"{archive.name} is corrupt ({type(exc).__name__}: {exc}); delete it and run again "
        "to download it anew."
    )


def verify(archive: str | Path) -> dict[str, int]:
    """Decompress the whole archive, check every member; return {kind: size}."""
    archive = Path(archive)
    found: dict[str, int] = {}
    scratch = bytearray(CHUNK)

    def read(kind, f, size):
        _drain(f, scratch)
        found[kind] = size

    each_member(archive, KINDS, read)
    return found


def extract(archive: str | Path, dest_dir: str | Path, kinds=KINDS) -> dict[str, Path]:
    """Stream the wanted members to ``dest_dir/{kind}.tif``; return their paths."""
    archive, dest_dir = Path(archive), Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}

    def write(kind, f, size):
        dest = dest_dir / f"{kind}.tif"
        with atomic_path(dest) as tmp, open(tmp, "wb") as fo:
            shutil.copyfileobj(f, fo, CHUNK)
        out[kind] = dest

    each_member(archive, kinds, write)
    return out


def each_member(archive: str | Path, kinds, fn, require: bool = True) -> list[str]:
    """Call ``fn(kind, fileobj, size)`` for each wanted member, in archive order.

    The archive is read once, as a stream; every member is checked, the gzip CRC
    and length are checked at the end, and any stream error (also one raised while
    ``fn`` reads) becomes one :class:`CorruptArchiveError`. Returns the kinds seen;
    with ``require``, a missing kind is an error too.

    Plain ustar headers (what EOG's archives hold) are parsed with
    ``tarfile.TarInfo.frombuf`` and member data is read straight from the gzip
    stream, one copy fewer than ``tarfile``'s stream mode; an archive with pax or
    GNU extension headers is read again with ``tarfile`` itself, which knows them.
    """
    archive = Path(archive)
    try:
        try:
            seen = _each_member_plain(archive, kinds, fn)
        except _NotPlain:
            seen = _each_member_tarfile(archive, kinds, fn)
    except CorruptArchiveError:
        raise
    except _STREAM_ERRORS as exc:
        raise _corrupt(archive, exc) from None
    missing = [k for k in kinds if k not in seen]
    if require and missing:
        raise CorruptArchiveError(
            f"{archive.name} holds no {' or '.join(k + '.tif' for k in missing)}; "
            "delete it and run again to download it anew."
        )
    return seen


class _NotPlain(Exception):
    pass


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

    def __init__(self, gz, size: int):
        self._gz, self.left = gz, size

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self.left <= 0:
            return 0
        view = memoryview(b).cast("B")[: min(len(b), self.left)]
        n = self._gz.readinto(view)
        if not n:
            raise EOFError("the archive ends inside a member")
        self.left -= n
        return n

    def read(self, size: int = -1) -> bytes:
        """Exactly ``size`` bytes (fewer only at the member's end)."""
        size = self.left if size is None or size < 0 else min(size, self.left)
        buf = bytearray(size)
        view, got = memoryview(buf), 0
        while got < size:
            got += self.readinto(view[got:])
        return bytes(buf)


def _each_member_plain(archive: Path, kinds, fn) -> list[str]:
    seen: list[str] = []
    scratch = bytearray(CHUNK)
    with open_gzip(archive) as gz:
        while True:
            block = gz.read(512)
            if len(block) < 512:
                raise EOFError("the archive ends inside a header")
            if block == bytes(512):  # end-of-archive marker
                break
            info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
            if info.type in _EXTENDED:
                raise _NotPlain
            check_member(archive, info)
            kind = member_kind(info.name) if info.isfile() else None
            member = _MemberReader(gz, info.size)
            if kind in kinds:
                fn(kind, member, info.size)
                seen.append(kind)
            _drain(member, scratch)
            _drain(_MemberReader(gz, -info.size % 512), scratch)
        _drain(gz, scratch)
    return seen


def _each_member_tarfile(archive: Path, kinds, fn) -> list[str]:
    seen: list[str] = []
    with (
        open_gzip(archive) as gz,
        tarfile.open(fileobj=gz, mode="r|", bufsize=1 << 20) as tar,
    ):
        for member in tar:
            check_member(archive, member)
            kind = member_kind(member.name) if member.isfile() else None
            if kind not in kinds:
                continue
            fn(kind, tar.extractfile(member), member.size)
            seen.append(kind)
        _drain(gz)
    return seen
