"""Read EOG tile archives (``.tgz`` of ``avg_rade9h.tif`` + ``cf_cvg.tif``) safely.

Archives are read as a stream (``gzip`` then ``tarfile`` mode ``r|``; gzip checks
the CRC and length that tarfile's own gz reader ignores), so a member is written
while it is decompressed and nothing else of the archive touches the disk. Only
regular-file members with plain relative names are accepted: absolute paths,
``..`` and links are refused, and nothing is written outside the target folder.
"""

from __future__ import annotations

import gzip
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


def _drain(gz) -> None:
    """Read to the end of the gzip stream, so its CRC and length are checked."""
    while gz.read(1 << 22):
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
    try:
        with gzip.open(archive, "rb") as gz, tarfile.open(fileobj=gz, mode="r|") as tar:
            for member in tar:
                check_member(archive, member)
                if member.isfile():
                    f = tar.extractfile(member)
                    while f.read(1 << 22):
                        pass
                    kind = member_kind(member.name)
                    if kind:
                        found[kind] = member.size
            _drain(gz)
    except CorruptArchiveError:
        raise
    except _STREAM_ERRORS as exc:
        raise _corrupt(archive, exc) from None
    missing = [k for k in KINDS if k not in found]
    if missing:
        raise CorruptArchiveError(
            f"{archive.name} holds no {' or '.join(k + '.tif' for k in missing)}; "
            "delete it and run again to download it anew."
        )
    return found


def extract(archive: str | Path, dest_dir: str | Path, kinds=KINDS) -> dict[str, Path]:
    """Stream the wanted members to ``dest_dir/{kind}.tif``; return their paths."""
    archive, dest_dir = Path(archive), Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    try:
        with gzip.open(archive, "rb") as gz, tarfile.open(fileobj=gz, mode="r|") as tar:
            for member in tar:
                check_member(archive, member)
                kind = member_kind(member.name) if member.isfile() else None
                if kind not in kinds:
                    continue
                dest = dest_dir / f"{kind}.tif"
                with atomic_path(dest) as tmp, open(tmp, "wb") as fo:
                    shutil.copyfileobj(tar.extractfile(member), fo, 1 << 22)
                out[kind] = dest
            _drain(gz)
    except CorruptArchiveError:
        raise
    except _STREAM_ERRORS as exc:
        raise _corrupt(archive, exc) from None
    missing = [k for k in kinds if k not in out]
    if missing:
        raise CorruptArchiveError(
            f"{archive.name} holds no {' or '.join(k + '.tif' for k in missing)}; "
            "delete it and run again to download it anew."
        )
    return out
