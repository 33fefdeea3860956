"""The World Bank's Light Every Night bucket (``globalnightlight``): its monthly composites.

Written from docs/evidence/lighteverynight.md ("What a local stand-in should reproduce"),
not from the pipeline's reader; (I) marks an inference there.

- Keys: ``composites/npp_{YYYYMM}_{proc}/DNB_npp_{YYYYMM}01-{YYYYMM}{last day}_global_
  {variant}_v10_{proc}.{avg_rade9|n_cf}.tif`` (§2.1), ``proc`` ``rp2`` before 2017-04
  and ``ops`` from it (§3.3; the ``_v10_rp2`` ending is (I)), the cloud mask ``vcm``
  before 2018-01 and ``ecm`` from it (§3.3), variants ``{mask}-slexcl`` and
  ``{mask}-slcorr`` (§2.3), but ``ecmcfg`` / ``ecmslcfg`` in 2024-10.
- Months 2012-01..2025-06 (§3.1); no key at all for 2014-03, 2021-08, 2022-06, 2022-08;
  no ``n_cf`` for 2017-10 and 2017-11 (§3.2).
- Rasters (§4): EPSG:4326, the pixel-edge origin half a pixel north-west of (-180, 75)
  (:func:`.grids.eog_global`); one column and one row more than 360 x 140 degrees, as
  EOG's global files (the monthly size is not confirmed); Cloud-Optimized GeoTIFF,
  256 x 256 internal tiles, LZW, overviews (§4, "COG" in the registry); radiance float32,
  cloud-free counts ``n_cf`` uint16 (dtype not confirmed).
- Values: the shared synthetic world (:mod:`.world`, its own noise, key ``len``).
  ``-slexcl`` has no cloud-free night north of 60N (stray light excluded: "more data
  coverage toward the poles" in the corrected one, §7). Where ``n_cf`` is 0 the radiance
  is -1.5, and beyond 360 x 140 degrees (the extra column and row) -999.3: the two values
  public code treats as nodata (§4; whether they are tags or values is not known, so the
  files carry no nodata tag).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.windows import Window

from . import grids, world
from .calendar import compact, month_bounds, month_index, month_range

FIRST, LAST = "2012-01", "2025-06"
OPS_FROM, ECM_FROM = "2017-04", "2018-01"
GAPS = ("2014-03", "2021-08", "2022-06", "2022-08")
NO_N_CF = ("2017-10", "2017-11")
RENAMED = {"2024-10": {"slexcl": "ecmcfg", "slcorr": "ecmslcfg"}}
STRAY_LIGHT = ("slexcl", "slcorr")
LAYERS = ("avg_rade9", "n_cf")
UNOBSERVED = np.float32(-1.5)
OUTSIDE = np.float32(-999.3)
STRAY_LIGHT_NORTH = 60.0  # slexcl: no cloud-free night north of this latitude
BLOCK = 256


def line(month: str) -> tuple[str, str]:
    """(proc, mask) of a month: rp2/vcm, ops/vcm, ops/ecm."""
    i = month_index(month)
    proc = "rp2" if i < month_index(OPS_FROM) else "ops"
    mask = "vcm" if i < month_index(ECM_FROM) else "ecm"
    return proc, mask


def variant(month: str, stray_light: str) -> str:
    if month in RENAMED:
        return RENAMED[month][stray_light]
    return f"{line(month)[1]}-{stray_light}"


def key(month: str, stray_light: str, layer: str) -> str:
    proc = line(month)[0]
    first, last = month_bounds(month)
    ym = compact(month)
    return (
        f"composites/npp_{ym}_{proc}/DNB_npp_{first}-{last}_global_"
        f"{variant(month, stray_light)}_v10_{proc}.{layer}.tif"
    )


def published(month: str) -> bool:
    i = month_index(month)
    return month_index(FIRST) <= i <= month_index(LAST) and month not in GAPS


def layers(month: str) -> tuple[str, ...]:
    if not published(month):
        return ()
    return ("avg_rade9",) if month in NO_N_CF else LAYERS


def block(month: str, stray_light: str, pixel: float, r0: int, r1: int):
    """Rows ``r0:r1`` of the global rasters: radiance (float32) and n_cf (uint16)."""
    transform, rows, cols = grids.eog_global(pixel)
    s = world.sample(month, transform, cols, r0, r1, key="len")
    ncf = s.cloud_free.copy()
    if stray_light == "slexcl":
        ncf[s.lat > STRAY_LIGHT_NORTH] = 0
    rad = (s.noise + np.round(s.light, 2)).astype(np.float32)
    rad[ncf == 0] = UNOBSERVED
    inside_rows, inside_cols = rows - 1, cols - 1  # the extra row and column
    rad[:, inside_cols:] = OUTSIDE
    ncf[:, inside_cols:] = 0
    extra = np.arange(r0, r1) >= inside_rows
    rad[extra] = OUTSIDE
    ncf[extra] = 0
    return rad, ncf


def write_layers(
    root, month: str, stray_light: str, pixel: float, block_rows: int = 2048, only=None
) -> list[Path]:
    """The month's COGs under ``root`` (the bucket's root), written in blocks of rows
    (a full-size global raster never sits in memory), then copied as COGs."""
    transform, rows, cols = grids.eog_global(pixel)
    out = []
    for layer in layers(month):
        if only is not None and layer not in only:
            continue
        path = Path(root) / key(month, stray_light, layer)
        out.append(path)
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        dtype = "float32" if layer == "avg_rade9" else "uint16"
        plain = path.with_name(f".{path.name}.plain.tif")
        profile = dict(
            driver="GTiff",
            width=cols,
            height=rows,
            count=1,
            dtype=dtype,
            crs="EPSG:4326",
            transform=transform,
            tiled=True,
            blockxsize=BLOCK,
            blockysize=BLOCK,
            BIGTIFF="IF_SAFER",
        )
        with rasterio.open(plain, "w", **profile) as ds:
            for r0 in range(0, rows, block_rows):
                r1 = min(rows, r0 + block_rows)
                rad, ncf = block(month, stray_light, pixel, r0, r1)
                ds.write(
                    rad if layer == "avg_rade9" else ncf, 1, window=Window(0, r0, cols, r1 - r0)
                )
        tmp = path.with_name(f".{path.name}.tmp")
        rasterio.shutil.copy(
            plain,
            tmp,
            driver="COG",
            COMPRESS="LZW",
            BLOCKSIZE=BLOCK,
            BIGTIFF="IF_SAFER",
            OVERVIEWS="AUTO",
            NUM_THREADS="ALL_CPUS",
        )
        plain.unlink()
        os.replace(tmp, path)
    return out


def make_bucket(
    root, start: str, end: str, pixel_arcsec: float = 600, stray_light=STRAY_LIGHT
) -> list[Path]:
    """Every key of the months ``start..end`` (both stray-light variants by default)."""
    pixel = pixel_arcsec / 3600.0
    variants = (stray_light,) if isinstance(stray_light, str) else tuple(stray_light)
    out = []
    for month in month_range(start, end):
        for sl in variants:
            out += write_layers(root, month, sl, pixel)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True, help="the bucket's root folder")
    ap.add_argument("--start", required=True)
    ap.add_argument("--end", required=True)
    ap.add_argument("--pixel-arcsec", type=float, default=600)
    a = ap.parse_args(argv)
    paths = make_bucket(a.root, a.start, a.end, a.pixel_arcsec)
    print(f"{len(paths)} objects under {a.root}")


if __name__ == "__main__":
    main()
