"""Read chosen rows of a single-band GeoTIFF from a forward-only stream.

A tile archive is read as one gzip stream, so its GeoTIFF members can only be
read front to back. A plain GeoTIFF (uncompressed, one strip per row or per few
rows, strips in row order: what EOG ships) is read straight out of that stream:
its header gives every strip's offset, the wanted rows are kept and the rest is
skipped, and nothing touches the disk. Any other layout (tiled, compressed, strips
out of order, a header larger than :data:`HEADER_BYTES`) is unpacked into a
scratch folder, read in windows of nearby rows with rasterio, and deleted.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.windows import Window

from . import disk
from .errors import CorruptFileError

HEADER_BYTES = 1 << 20  # a plain GeoTIFF's header and strip offsets fit well within this
CHUNK = 1 << 22
ROW_GAP = 64  # with the disk fallback, rows needed less than this far apart are read together


class StreamedTiff:
    """The georeferencing of a GeoTIFF member, and its rows in order.

    ``f`` is a binary file object positioned at the member's first byte, ``size``
    its length, ``name`` what to call it in messages, ``scratch`` a folder for the
    disk fallback (layouts that cannot be read from the stream are unpacked there
    at once, and deleted by :meth:`close`). Use it as a context manager.
    """

    def __init__(self, f, size: int, name: str, scratch: str | Path | None = None):
        self._f, self.name, self._size = f, name, int(size)
        self._head = bytes(f.read(min(size, HEADER_BYTES)))
        self._pos = len(self._head)
        self._plan = None
        self._disk: Path | None = None
        try:
            with rasterio.MemoryFile(self._head) as mem, mem.open() as src:
                self._describe(src)
                self._plan = _strip_plan(src, self._head)
        except rasterio.errors.RasterioIOError:
            pass  # a header larger than HEADER_BYTES (or not a TIFF): see below
        if self._plan is None:
            self._unpack(scratch)

    def _describe(self, src) -> None:
        self.transform: Affine = src.transform
        self.shape = (src.height, src.width)
        self.dtype = np.dtype(src.dtypes[0])
        self.nodata = src.nodata

    def _unpack(self, scratch) -> None:
        if scratch is None:
            raise CorruptFileError(
                f"{self.name}: not a plain GeoTIFF and no scratch folder to unpack it in."
            )
        Path(scratch).mkdir(parents=True, exist_ok=True)
        if self._size > disk.free_bytes(scratch):  # the whole member goes to disk
            raise disk.disk_full_error(scratch, self._size)
        self._disk = Path(tempfile.mkdtemp(prefix=".gather-", dir=scratch))
        path = self._disk / "band.tif"
        disk.expect_disk(path, self._size)  # for the message if the disk fills up meanwhile
        with open(path, "wb") as fo:
            fo.write(self._head)
            shutil.copyfileobj(self._f, fo, CHUNK)
        try:
            with rasterio.open(path) as src:
                self._describe(src)
        except rasterio.errors.RasterioIOError as exc:
            raise CorruptFileError(
                f"{self.name} is not a readable GeoTIFF ({exc}); delete its archive and run "
                "again to download it anew."
            ) from None

    def close(self) -> None:
        if self._disk is not None:
            shutil.rmtree(self._disk, ignore_errors=True)
            self._disk = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def rows(self, wanted: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(row, values)`` for each of the sorted, unique row indices ``wanted``."""
        if self._plan is None:
            yield from self._rows_from_disk(wanted)
        else:
            yield from self._rows_from_stream(wanted)

    def _rows_from_stream(self, wanted):
        offsets, row_bytes, rows_per_strip, width, dtype = self._plan
        skip = memoryview(bytearray(CHUNK))
        head = self._head
        for row in wanted:
            strip, within = divmod(int(row), rows_per_strip)
            start = int(offsets[strip]) + within * row_bytes
            if start < len(head) and self._pos == len(head):  # the row begins in the header
                buf = head[start : start + row_bytes]
                rest = self._f.read(row_bytes - len(buf))
                buf += rest
                self._pos += len(rest)
            else:
                if start < self._pos:  # strips out of file order: not the plain layout
                    raise CorruptFileError(
                        f"{self.name}: its rows are not stored in order; delete it and run "
                        "again to download it anew."
                    )
                while self._pos < start:
                    n = self._f.readinto(skip[: min(len(skip), start - self._pos)])
                    if not n:
                        raise EOFError(f"{self.name}: member ends before row {row}")
                    self._pos += n
                buf = self._f.read(row_bytes)
                self._pos += len(buf)
            if len(buf) != row_bytes:
                raise EOFError(f"{self.name}: member ends inside row {row}")
            yield int(row), np.frombuffer(buf, dtype=dtype, count=width)

    def _rows_from_disk(self, wanted):
        wanted = np.asarray(wanted)
        with rasterio.open(self._disk / "band.tif") as src:
            breaks = np.nonzero(np.diff(wanted) >= ROW_GAP)[0] + 1
            for run in np.split(wanted, breaks):
                if run.size == 0:
                    continue
                lo, hi = int(run[0]), int(run[-1]) + 1
                block = src.read(1, window=Window(0, lo, src.width, hi - lo))
                for row in run:
                    yield int(row), block[int(row) - lo]


def _strip_plan(src, head: bytes):
    """(strip offsets, bytes per row, rows per strip, width, dtype) of a plain GeoTIFF.

    None for any other layout, which is then read from disk.
    """
    if head[:4] not in (b"II*\x00", b"MM\x00*"):
        return None
    if src.count != 1 or src.compression is not None or src.block_shapes[0][1] != src.width:
        return None
    rows_per_strip = src.block_shapes[0][0]
    n_strips = -(-src.height // rows_per_strip)
    offsets = [
        int(src.get_tag_item(f"BLOCK_OFFSET_0_{i}", "TIFF", bidx=1) or 0) for i in range(n_strips)
    ]
    if min(offsets) <= 0:  # sparse file: strips that are not stored
        return None
    dtype = np.dtype(src.dtypes[0]).newbyteorder("<" if head[:2] == b"II" else ">")
    return np.array(offsets, np.int64), src.width * dtype.itemsize, rows_per_strip, src.width, dtype


def clean_scratch(scratch: str | Path) -> None:
    """Remove what a killed job left in ``scratch`` (only this job's folder uses it)."""
    for stale in Path(scratch).glob(".gather-*"):
        shutil.rmtree(stale, ignore_errors=True)
