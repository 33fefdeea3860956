"""Stitch a month's tiles into one seamless raster per band.

All six EOG tiles lie on one global lattice (see :mod:`sezlights.grid`), so the
mosaic places each tile by integer pixel offsets: no resampling, and a zone that
straddles a tile border gets exactly what it would get from one big raster.

The mosaic covers the zones' bounding box (snapped to the lattice, one pixel of
padding). Tiles are unpacked one at a time from their archive, copied into the
mosaic in blocks of rows, and deleted: memory is bounded by one block, extra disk
by one unpacked tile. Pixels no tile covers are NaN (the nodata value); 0 is a
radiance like any other.
"""

from __future__ import annotations

import logging
import math
import shutil
import tempfile
from pathlib import Path

import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.windows import Window

from . import archive, grid
from .atomic import atomic_path
from .errors import UserError

log = logging.getLogger(__name__)

BLOCK_ROWS = 1024
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


def mosaic_profile(bounds, pixel: float) -> dict:
    r0, c0, h, w = grid.window_for_bounds(bounds, pixel)
    x0, y0 = grid.global_origin(pixel)
    transform = Affine(pixel, 0.0, x0 + c0 * pixel, 0.0, -pixel, y0 - r0 * pixel)
    prof = dict(GTIFF, width=w, height=h, transform=transform, crs="EPSG:4326")
    prof["blockxsize"] = min(512, _block(w))
    prof["blockysize"] = min(512, _block(h))
    return prof


def _block(n: int) -> int:
    # GTiff tile sizes must be multiples of 16
    return max(16, 16 * math.ceil(n / 16))


def _offset(transform: Affine, ref: Affine, pixel: float, name: str) -> tuple[int, int]:
    """Integer (row, col) offset of ``transform`` on the lattice of ``ref``."""
    if not (
        math.isclose(transform.a, pixel, rel_tol=1e-6)
        and math.isclose(-transform.e, pixel, rel_tol=1e-6)
    ):
        raise UserError(
            f"{name}: pixel size {transform.a:.10g} x {-transform.e:.10g} deg does not match the "
            f"configured grid ({pixel:.10g} deg, source.pixel_arcsec); fix the config."
        )
    col = (transform.c - ref.c) / pixel
    row = (ref.f - transform.f) / pixel
    if abs(col - round(col)) > 1e-3 or abs(row - round(row)) > 1e-3:
        raise UserError(
            f"{name}: its grid is not aligned with the VIIRS 15-arc-second lattice "
            f"(offset {col:.4f}, {row:.4f} pixels); it is not an EOG monthly tile."
        )
    return round(row), round(col)


def build_mosaic(
    archives: list[str | Path],
    bounds,
    pixel: float,
    out: dict[str, str | Path],
    cog: bool = False,
    workdir: str | Path | None = None,
) -> dict[str, dict]:
    """Mosaic ``archives`` over ``bounds`` into ``out[kind]`` for each band kind.

    Returns per-tile provenance (rows/cols copied) for the log.
    """
    prof = mosaic_profile(bounds, pixel)
    ref = prof["transform"]
    H, W = prof["height"], prof["width"]
    kinds = list(out)
    outdir = Path(workdir) if workdir else Path(next(iter(out.values()))).parent
    outdir.mkdir(parents=True, exist_ok=True)
    for stale in outdir.glob(".mosaic-*"):  # left by a job that was killed
        shutil.rmtree(stale, ignore_errors=True)
    scratch = Path(tempfile.mkdtemp(prefix=".mosaic-", dir=outdir))
    info: dict[str, dict] = {}
    try:
        tmp_paths = {k: scratch / f"{k}.tif" for k in kinds}
        dsts = {k: rasterio.open(tmp_paths[k], "w", **prof) for k in kinds}
        try:
            for arc in archives:
                arc = Path(arc)
                members = archive.extract(arc, scratch / "tile", kinds)
                for kind in kinds:
                    with rasterio.open(members[kind]) as src:
                        info.setdefault(arc.name, {})[kind] = _copy_tile(
                            src, dsts[kind], ref, pixel, H, W, arc.name
                        )
                    members[kind].unlink()
        finally:
            for d in dsts.values():
                d.close()
        for kind in kinds:
            dest = Path(out[kind])
            with atomic_path(dest, suffix=".tif") as tmp:
                if cog:
                    rasterio.shutil.copy(tmp_paths[kind], tmp, driver="COG", **COG)
                else:
                    shutil.move(tmp_paths[kind], tmp)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return info


def _copy_tile(src, dst, ref: Affine, pixel: float, H: int, W: int, name: str) -> dict:
    r_off, c_off = _offset(src.transform, ref, pixel, name)  # tile origin in mosaic pixels
    # overlap in mosaic coordinates
    r0, r1 = max(0, r_off), min(H, r_off + src.height)
    c0, c1 = max(0, c_off), min(W, c_off + src.width)
    if r1 <= r0 or c1 <= c0:
        log.info("%s: outside the zones' extent, nothing to copy", name)
        return {"rows": 0, "cols": 0}
    # Every pixel inside a tile is a measurement: 0 is dark, not missing, whatever
    # nodata value the file declares (treating 0 as nodata biased the old means).
    for rs in range(r0, r1, BLOCK_ROWS):
        re_ = min(r1, rs + BLOCK_ROWS)
        win = Window(c0 - c_off, rs - r_off, c1 - c0, re_ - rs)
        block = src.read(1, window=win, out_dtype="float32")
        dst.write(block, 1, window=Window(c0, rs, c1 - c0, re_ - rs))
    log.info("%s: copied %d x %d pixels", name, r1 - r0, c1 - c0)
    return {"rows": r1 - r0, "cols": c1 - c0}
