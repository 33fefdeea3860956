"""Synthetic EOG untiled monthly files (``monthly_notile/v10``), in the real layout and naming.

Written from docs/evidence/eog-notile.md ("What a local stand-in of the notile tree should
reproduce"), not from the pipeline's reader:

- Files ``{root}/{YYYY}/{YYYYMM}/{product}/SVDNB_{npp|j01}_{start}-{end}_global_{product}
  _v10_c{stamp}.{layer}.tif`` (§1), ``root`` being the ``monthly_notile/v10`` folder;
  2022-08 under ``NOAA-20/{product}/`` with ``SVDNB_j01_`` names (§1, "NOAA-20"). Layers
  ``avg_rade9h`` (radiance, float32), ``cf_cvg`` and ``cvg`` (uint16: their type is not
  confirmed, §2). Stamps and date ranges as the tiled stand-in's (the notile stamp equals
  the tiled one of the same month: an INFERENCE of §1, "Stamps").
- One global raster per layer on the tiles' grid: origin ``(-180.00208333335,
  75.00208333335)`` at 15" (:func:`.grids.eog_global`), one column and one row more than
  360 x 140 degrees (86401 x 33601 at 15", §2 "Grid"; the monthly height is an
  INFERENCE). The values are the tiled stand-in's (:func:`.eog_tiles.tile_block`, and
  :func:`.eog_tiles.tile_layers` for ``cvg``), stitched tile by tile, so a zone's
  statistics are the same from either tree. The extra last column lies on the same
  meridian as the first (180E is 180W): it repeats the first column. The extra last row
  (centred on 65S, where the composites end) is 0 in every layer: no cloud-free
  observation, radiance 0 (as the tiled stand-in writes unobserved pixels).
- Four internal layouts (§2 "Internal layout": 256 x 256 tiles in 2021, one-row strips
  for the 2018-04/05 replacements; the rest unknown):

  ========= ============================================================================
  tiled     internal tiles of ``block`` x ``block`` pixels (256 as in 2021), LZW
  strips    one row per strip (the 2018-04/05 replacements' ``(86401, 1)`` blocks), LZW
  single    the whole raster in one strip (one block), LZW
  gz        the ``tiled`` file gzipped as ``.tif.gz``, and no plain ``.tif`` (§1: some
            scripts only ever see ``.tif.gz``; which months are so is not known)
  ========= ============================================================================

  ``also_gz=True`` puts a ``.tif.gz`` beside each plain ``.tif`` (§1: some folders list
  both forms side by side). At a reduced pixel size a test may shrink ``block`` with it
  (:func:`scaled_block`: 16 pixels at 10' cover about what 256 do at 15").

Served by the EOG stand-in (:mod:`.eog`) under ``nighttime_light/monthly_notile/v10``
when its root holds that folder: same login, same Apaxy listings, ``Range`` (or not:
``ranges=False``), ETags and ``If-Match`` as Apache (:mod:`.httpserver`).

``python -m sezlights_standin.eog_notile --root DIR --start 2019-01 --end 2019-04``
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
from pathlib import Path

import numpy as np
import rasterio
from rasterio.windows import Window

from . import eog_tiles, grids
from .calendar import month_bounds, month_range

SERVER_PATH = "nighttime_light/monthly_notile/v10"
LAYOUTS = ("tiled", "strips", "single", "gz")
LAYERS = ("avg_rade9h", "cf_cvg", "cvg")
DTYPES = {"avg_rade9h": "float32", "cf_cvg": "uint16", "cvg": "uint16"}
BLOCK = 256  # internal tile size of the tiled layout (2021's files)


def scaled_block(pixel_arcsec: float) -> int:
    """The internal tile size at a reduced pixel size covering about what 256 pixels do
    at 15" (a multiple of 16, as TIFF wants; at least 16)."""
    return max(16, 16 * round(BLOCK * 15 / pixel_arcsec / 16))


def file_name(
    month: str, product: str, stamp: str, satellite: str, layer: str, gz: bool = False
) -> str:
    """``SVDNB_{satellite}_{first}-{last}_global_{product}_v10_c{stamp}.{layer}.tif[.gz]``."""
    first, last = month_bounds(month)
    return f"SVDNB_{satellite}_{first}-{last}_global_{product}_v10_c{stamp}.{layer}.tif" + (
        ".gz" if gz else ""
    )


def month_folder(month: str, product: str = "vcmcfg") -> str:
    """The product folder of a month, relative to the ``monthly_notile/v10`` root (as the
    tiled tree's: ``NOAA-20/`` for 2022-08)."""
    return eog_tiles.month_folder(month, product)


def global_block(month: str, pixel: float, r0: int, r1: int) -> dict[str, np.ndarray]:
    """Rows ``r0:r1`` of the global rasters, by layer: the tiles' values stitched, the
    extra column a copy of the first, the extra row 0."""
    transform, rows, cols = grids.eog_global(pixel)
    out = {k: np.zeros((r1 - r0, cols), DTYPES[k]) for k in LAYERS}
    for tile in grids.EOG_TILES:
        t, t_rows, t_cols = grids.eog_tile(tile, pixel)
        row0 = round((transform.f - t.f) / pixel)
        col0 = round((t.c - transform.c) / pixel)
        a, b = max(r0, row0), min(r1, row0 + t_rows)
        if a >= b:
            continue
        rad, cf, cvg = eog_tiles.tile_layers(month, tile, pixel, a - row0, b - row0)
        for k, arr in (("avg_rade9h", rad), ("cf_cvg", cf), ("cvg", cvg)):
            out[k][a - r0 : b - r0, col0 : col0 + t_cols] = arr
    for arr in out.values():
        arr[:, cols - 1] = arr[:, 0]  # the same meridian
        if r1 == rows:
            arr[rows - 1 - r0] = 0  # 65S: not observed
    return out


def write_layer(
    path, month: str, layer: str, pixel: float, layout: str, block: int = BLOCK, rows_at_once=2048
) -> Path:
    """One global layer as a GeoTIFF in ``layout`` (``gz``: gzipped ``tiled``), written
    atomically; ``path`` is the plain ``.tif`` name (``.gz`` is added for ``gz``)."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}")
    path = Path(path)
    transform, rows, cols = grids.eog_global(pixel)
    profile = dict(
        driver="GTiff",
        width=cols,
        height=rows,
        count=1,
        dtype=DTYPES[layer],
        crs="EPSG:4326",
        transform=transform,
        compress="lzw",
        BIGTIFF="IF_SAFER",
    )
    if layout in ("tiled", "gz"):
        profile.update(tiled=True, blockxsize=block, blockysize=block)
    elif layout == "strips":
        profile.update(blockysize=1)
    else:  # single: one strip holding every row
        profile.update(blockysize=rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    step = rows if layout == "single" else rows_at_once
    with rasterio.open(tmp, "w", **profile) as ds:
        for r0 in range(0, rows, step):
            r1 = min(rows, r0 + step)
            rows_here = global_block(month, pixel, r0, r1)[layer]
            ds.write(rows_here, 1, window=Window(0, r0, cols, r1 - r0))
    if layout == "gz":
        final = path.with_name(path.name + ".gz")
        with (
            open(tmp, "rb") as src,
            gzip.open(final.with_name(f".{final.name}.tmp"), "wb", 6) as gz,
        ):
            shutil.copyfileobj(src, gz, 1 << 20)
        tmp.unlink()
        os.replace(final.with_name(f".{final.name}.tmp"), final)
        return final
    os.replace(tmp, path)
    return path


def make_tree(
    root,
    start: str,
    end: str,
    pixel_arcsec: float = 600,
    product: str = "vcmcfg",
    layout="tiled",
    stamp: str | None = None,
    block: int = BLOCK,
    layers=LAYERS,
    also_gz: bool = False,
) -> list[Path]:
    """Write the untiled tree (``root`` = the ``monthly_notile/v10`` folder) for a month
    range. ``layout`` is one layout, or ``{month: layout}`` (months not named: ``tiled``).
    Existing files are kept. Returns the files written (or found)."""
    pixel = pixel_arcsec / 3600.0
    out = []
    for month in month_range(start, end):
        how = layout.get(month, "tiled") if isinstance(layout, dict) else layout
        st = stamp or eog_tiles.default_stamp(month, product)
        sat = eog_tiles.satellite(month)
        folder = Path(root) / month_folder(month, product)
        for layer in layers:
            path = folder / file_name(month, product, st, sat, layer)
            final = path.with_name(path.name + ".gz") if how == "gz" else path
            if not final.exists():
                write_layer(path, month, layer, pixel, how, block)
            out.append(final)
            if also_gz and how != "gz":
                gz = path.with_name(path.name + ".gz")
                if not gz.exists():
                    gz.write_bytes(gzip.compress(path.read_bytes(), 6))
                out.append(gz)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True, help="the monthly_notile/v10 folder")
    ap.add_argument("--start", required=True)
    ap.add_argument("--end", required=True)
    ap.add_argument("--pixel-arcsec", type=float, default=600)
    ap.add_argument("--product", default="vcmcfg", choices=eog_tiles.PRODUCTS)
    ap.add_argument("--layout", default="tiled", choices=LAYOUTS)
    ap.add_argument("--block", type=int, default=BLOCK)
    a = ap.parse_args(argv)
    paths = make_tree(a.root, a.start, a.end, a.pixel_arcsec, a.product, a.layout, block=a.block)
    print(f"{len(paths)} files under {a.root}")


if __name__ == "__main__":
    main()
