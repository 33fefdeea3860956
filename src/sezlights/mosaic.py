"""Stitch a month's tiles into one seamless raster per band (only with ``mosaic.keep``).

A source's tiles lie on one global lattice (see :mod:`sezlights.grid`), so the
mosaic places each tile by integer pixel offsets: no resampling, and a zone that
straddles a tile border gets exactly what it would get from one big raster. The
mosaic covers the zones' bounding box (one pixel of padding). Each file is read
once, band by band, row by row (:meth:`sezlights.sources.Source.bands`), and
written in blocks of rows: memory is bounded by one block; the disk needs at most
rows x columns x 4 bytes per band (noted for a full disk's message). Pixels no tile covers,
and pixels the source marks unobserved, are NaN (the nodata value); 0 is a radiance
like any other.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.windows import Window

from . import disk
from .atomic import atomic_path
from .errors import UserError
from .sources import Source

log = logging.getLogger(__name__)

BLOCK_ROWS = 1024
COG_BLOCK_BYTES = 4 << 20  # what the COG driver writes at once, about (512 x 512 tiles)
GTIFF = {
    "driver": "GTiff",
    "dtype": "float32",
    "count": 1,
    "nodata": float("nan"),
    "tiled": True,
    "blockxsize": 512,
    "blockysize": 512,
    "compress": "ZSTD",
    "zstd_level": 1,
    "predictor": 3,
    "sparse_ok": True,
    "bigtiff": "IF_SAFER",
}
COG = {
    "compress": "DEFLATE",
    "predictor": 3,
    "blocksize": 512,
    "bigtiff": "IF_SAFER",
    "overviews": "AUTO",
    "resampling": "average",
}


def _block(n: int) -> int:
    return max(16, 16 * -(-n // 16))  # GTiff tile sizes are multiples of 16


def build_mosaic(
    by_series: dict[tuple[str, str], list],
    source: Source,
    bounds,
    out: dict[str, str | Path],
    files: str | Path | None = None,
    session=None,
    cog: bool = False,
    scratch: str | Path | None = None,
) -> dict[str, dict]:
    """Mosaic a month's granules over ``bounds`` into ``out[kind]`` for each band kind:
    one band per series (``by_series``: {(product, satellite): granules}, e.g. VNP46A3
    and VJ146A3), each band described by its product and satellite.

    Returns per-file provenance (rows and columns copied) for the log.
    """
    lattice = source.tiles.lattice
    win = lattice.window_for_bounds(bounds, pad=1)
    H, W = int(win.height), int(win.width)
    n = max(1, len(by_series))
    prof = dict(
        GTIFF, count=n, width=W, height=H, crs="EPSG:4326", transform=lattice.window_transform(win)
    )
    prof["blockxsize"], prof["blockysize"] = min(512, _block(W)), min(512, _block(H))
    kinds = list(out)
    workdir = Path(scratch) if scratch else Path(next(iter(out.values()))).parent
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in workdir.glob(".mosaic-*"):  # left by a job that was killed
        shutil.rmtree(stale, ignore_errors=True)
    tmpdir = Path(tempfile.mkdtemp(prefix=".mosaic-", dir=workdir))
    band_bytes = n * H * W * np.dtype(prof["dtype"]).itemsize  # at most, before compression
    disk.expect_disk(tmpdir, band_bytes * len(kinds))
    info: dict[str, dict] = {}
    try:
        tmp = {k: tmpdir / f"{k}.tif" for k in kinds}
        dsts = {k: rasterio.open(tmp[k], "w", **prof) for k in kinds}
        try:
            try:
                for b, (product, satellite) in enumerate(by_series, 1):
                    for d in dsts.values():
                        d.set_band_description(b, f"{product} ({satellite})")
                    granules = by_series[(product, satellite)]
                    _write_granules(
                        granules, b, source, files, session, kinds, dsts, win, tmpdir, info
                    )
            finally:
                for d in dsts.values():
                    d.close()
        except UserError:
            raise
        except Exception as exc:  # GDAL's write errors (RasterioIOError, CPLE_*)
            if disk.too_full_for(tmpdir, BLOCK_ROWS * W * 4):  # a block of rows did not fit
                raise disk.disk_full_error(tmpdir) from exc
            raise
        for kind in kinds:
            disk.expect_disk(Path(out[kind]).parent, band_bytes)
            with atomic_path(out[kind], suffix=".tif") as dest:
                try:
                    if cog:
                        rasterio.shutil.copy(tmp[kind], dest, driver="COG", **COG)
                    else:
                        shutil.move(tmp[kind], dest)
                except Exception as exc:  # GDAL's write errors (RasterioIOError, CPLE_*)
                    if disk.too_full_for(dest, COG_BLOCK_BYTES):
                        raise disk.disk_full_error(dest) from exc
                    raise
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return info


def _write_granules(granules, b, source, files, session, kinds, dsts, win, tmpdir, info):
    """Copy each granule's rows and columns inside ``win`` into band ``b`` of ``dsts``."""
    for g in granules:
        with source.open(g, files, session, kinds, tmpdir) as bands:
            for band in bands:
                tile = band.window
                r0 = max(int(tile.row_off), int(win.row_off))
                r1 = min(int(tile.row_off + tile.height), int(win.row_off + win.height))
                c0 = max(int(tile.col_off), int(win.col_off))
                c1 = min(int(tile.col_off + tile.width), int(win.col_off + win.width))
                if r0 >= r1 or c0 >= c1:
                    continue
                _copy(band, dsts[band.kind], b, r0, r1, c0, c1, win)
                info[f"{g.product} {g.tile}"] = {"rows": r1 - r0, "cols": c1 - c0}
        log.info("%s %s: copied into band %d", g.product, g.tile, b)


def _copy(band, dst, b, r0, r1, c0, c1, win) -> None:
    block, first = [], None

    def flush():
        if block:
            arr = np.stack(block).astype(np.float32)
            row = first + r0 - int(win.row_off)
            dst.write(arr, b, window=Window(c0 - int(win.col_off), row, c1 - c0, len(block)))

    for _, i, line in band.regions([(None, r0, r1, c0, c1)]):
        if first is None:
            first = i
        block.append(np.asarray(line))
        if len(block) == BLOCK_ROWS:
            flush()
            block, first = [], None
    flush()
