"""Disk space: what a step says it will write, the free space, the full-disk message.

A step notes what it is about to write with :func:`expect_disk` (a path and about how
many bytes) where the size is known: a download (the listed size), the GeoTIFF
member :mod:`sezlights.tiffrows` unpacks when it cannot stream it (the member's
size), a mosaic (rows x columns x 4 bytes per band), the pixel index (its arrays).
When the disk fills up (``ENOSPC``, also deep inside GDAL), :func:`disk_full_error`
names the path, the free space there and what the step needs; a step may also
refuse to start a write that cannot fit (:func:`free_bytes`).

No Snakemake here: the library's modules use this, and :mod:`sezlights.job` (the
glue of script jobs) turns a full disk into the message.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from .errors import DiskFullError

_expected: dict[str, int] = {}  # path -> bytes, in the order the step noted them


def expect_disk(path: str | os.PathLike, nbytes: int) -> None:
    """Note that this step will write about ``nbytes`` under ``path`` (for messages)."""
    _expected.pop(str(path), None)  # the latest note comes last
    _expected[str(path)] = int(nbytes)


def forget() -> None:
    """Forget what earlier steps noted (a new step starts)."""
    _expected.clear()


def noted() -> bool:
    """Whether this step noted anything it will write."""
    return bool(_expected)


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def free_bytes(path: str | os.PathLike) -> int:
    """Free bytes on the file system of the folder that holds (or would hold) ``path``."""
    p = Path(os.path.abspath(path))
    while not p.is_dir():  # a file (or a link to one) or a path not made yet: its folder
        p = p.parent
    return shutil.disk_usage(p).free


def _expected_for(path: str | os.PathLike) -> int | None:
    """What :func:`expect_disk` noted for ``path`` or the closest folder above it."""
    p = Path(os.path.abspath(path))
    for candidate in (p, *p.parents):
        for noted_path, n in _expected.items():
            if Path(os.path.abspath(noted_path)) == candidate:
                return n
    return None


def disk_full_error(path: str | os.PathLike | None, need: int | None = None) -> DiskFullError:
    """The message for running out of disk while writing ``path``."""
    if path is None and _expected:
        path = next(reversed(_expected))  # the last thing this step said it would write
    where = f"writing {path}" if path else "writing this step's output"
    free = f"{human_bytes(free_bytes(path or '.'))} free there"
    if need is None and path is not None:
        need = _expected_for(path)
    needs = f"; this step needs about {human_bytes(need)}" if need else ""
    return DiskFullError(
        f"out of disk space {where} ({free}{needs}): free some space on that disk "
        "(or move the working directory to a larger one) and run again."
    )


def too_full_for(path: str | os.PathLike, nbytes: int) -> bool:
    """Whether less than ``nbytes`` is free where ``path`` is.

    GDAL reports a full disk as a bare write error ("Write failed"; libtiff prints the
    reason to the terminal itself): a write of ``nbytes`` at most to ``path`` that
    failed while less than that is free there failed for the space.
    """
    return free_bytes(path) < nbytes


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what caused it) is the disk running out of space."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return True
        if "No space left on device" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def path_of(exc: BaseException | None) -> str | None:
    """The file name an ``OSError`` in ``exc``'s chain names, if any."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.filename:
            return exc.filename
        exc = exc.__cause__ or exc.__context__
    return None
