"""Synthetic EOG monthly tiles on the real grid, at reduced resolution.

Each archive is laid out and named as on the EOG server
(``{root}/{YYYY}/{YYYYMM}/{product}/SVDNB_npp_{start}-{end}_{tile}_{product}_v10_c{stamp}.tgz``)
and holds ``*.avg_rade9h.tif`` (float32) and ``*.cf_cvg.tif`` (uint16) with the
real origin and half-pixel offset. Content: dim noise (mostly exact zeros, some
small negative values as in real composites), bright clusters at fixed "cities"
that grow month by month, and a cloudy patch with no cloud-free observation.
Deterministic for a given month and tile.

``python -m sezlights.synthetic --root DIR --start 2019-01 --end 2019-04``
"""

from __future__ import annotations

import argparse
import io
import tarfile
import zlib
from pathlib import Path

import numpy as np
import rasterio
from rasterio.windows import Window

from . import grid
from .months import compact, month_bounds, month_index, month_range

# (lon, lat, peak radiance, sigma in degrees): places the demo zones sit in, and others
CITIES = [
    (36.98, -1.43, 60.0, 0.20),  # Athi River, Kenya
    (32.55, 0.02, 45.0, 0.25),  # on the equator, Uganda
    (60.05, 25.35, 40.0, 0.30),  # on 60E, Chabahar
    (38.47, 7.05, 30.0, 0.15),  # Hawassa, Ethiopia
    (25.62, -33.80, 50.0, 0.20),  # Coega, South Africa
    (-92.40, 14.70, 35.0, 0.20),  # Puerto Chiapas, Mexico
    (106.70, 10.85, 80.0, 0.30),  # Ho Chi Minh City
    (-46.63, -23.55, 90.0, 0.40),  # Sao Paulo
    (-74.00, 40.70, 120.0, 0.40),  # New York
    (2.35, 48.85, 100.0, 0.30),  # Paris
]
CLOUDY = (25.2, -34.2, 26.0, -33.4)  # box with no cloud-free observation in odd months
STAMP_BASE = "1200"


def archive_name(month: str, tile: str, product: str, stamp: str) -> str:
    start, end = month_bounds(month)
    return f"SVDNB_npp_{start}-{end}_{tile}_{product}_v10_c{stamp}.tgz"


def default_stamp(month: str) -> str:
    """A creation stamp a few days after the month ends, as EOG's are."""
    i = month_index(month) + 1
    return f"{i // 12:04d}{i % 12 + 1:02d}05{STAMP_BASE}"


def tile_block(month: str, tile: str, pixel: float, r0: int, r1: int):
    """Rows ``r0:r1`` of a synthetic tile: radiance (float32) and coverage (uint16).

    Dim noise (mostly exact zeros), bright clusters at the cities that grow month by
    month, and a cloudy patch with no cloud-free observation in odd months. Seeded
    per block, so a full-size tile can be made block by block in bounded memory.
    """
    cols = grid.tile_shape(tile, pixel)[1]
    rng = np.random.default_rng(zlib.crc32(f"{month}/{tile}/{r0}".encode()))
    n = (r1 - r0, cols)
    rad = np.zeros(n, dtype=np.float32)
    lit = rng.random(n, dtype=np.float32) < 0.25
    rad[lit] = np.round(rng.normal(0.4, 0.5, int(lit.sum())), 2).astype(np.float32)
    transform = grid.tile_transform(tile, pixel)
    growth = 1.0 + 0.03 * (month_index(month) - month_index("2012-04"))
    ys = transform.f - (np.arange(r0, r1) + 0.5) * pixel
    for lon, lat, peak, sigma in CITIES:
        near = np.abs(ys - lat) < 4 * sigma
        c0 = max(0, int((lon - 4 * sigma - transform.c) / pixel))
        c1 = min(cols, int((lon + 4 * sigma - transform.c) / pixel) + 2)
        if not near.any() or c1 <= c0:
            continue
        xs = transform.c + (np.arange(c0, c1) + 0.5) * pixel
        gx, gy = np.meshgrid(xs, ys[near])
        blob = peak * growth * np.exp(-((gx - lon) ** 2 + (gy - lat) ** 2) / (2 * sigma**2))
        rad[np.nonzero(near)[0][:, None], np.arange(c0, c1)] += np.round(blob, 2).astype(np.float32)
    cvg = rng.integers(1, 25, size=n, dtype=np.uint16)
    if month_index(month) % 2 == 1:
        w, s, e, north = CLOUDY
        rows = np.nonzero((ys > s) & (ys < north))[0]
        c0 = max(0, int((w - transform.c) / pixel))
        c1 = min(cols, int((e - transform.c) / pixel) + 1)
        if rows.size and c1 > c0:
            cvg[rows[0] : rows[-1] + 1, c0:c1] = 0
            rad[rows[0] : rows[-1] + 1, c0:c1] = 0.0
    return rad, cvg


def tile_arrays(month: str, tile: str, pixel: float) -> tuple[np.ndarray, np.ndarray]:
    """A whole synthetic tile (see :func:`tile_block`)."""
    return tile_block(month, tile, pixel, 0, grid.tile_shape(tile, pixel)[0])


def _tif_bytes(arr: np.ndarray, transform) -> bytes:
    with rasterio.MemoryFile() as mem:
        with mem.open(
            driver="GTiff",
            width=arr.shape[1],
            height=arr.shape[0],
            count=1,
            dtype=arr.dtype,
            crs="EPSG:4326",
            transform=transform,
        ) as ds:
            ds.write(arr, 1)
        return mem.read()


def write_archive(path: Path, month: str, tile: str, pixel: float) -> Path:
    rad, cvg = tile_arrays(month, tile, pixel)
    transform = grid.tile_transform(tile, pixel)
    stem = path.name[: -len(".tgz")]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tarfile.open(tmp, "w:gz", compresslevel=6) as tar:
        for kind, arr in (("avg_rade9h", rad), ("cf_cvg", cvg)):
            data = _tif_bytes(arr, transform)
            info = tarfile.TarInfo(f"{stem}.{kind}.tif")
            info.size = len(data)
            info.mtime = 1_500_000_000
            tar.addfile(info, io.BytesIO(data))
    tmp.replace(path)
    return path


def write_archive_blocks(
    path: Path, month: str, tile: str, pixel: float, block_rows: int = 1000
) -> Path:
    """Like :func:`write_archive` for full-size tiles: bounded memory, fast gzip.

    Each band is written block by block as a plain (uncompressed, stripped) GeoTIFF
    beside the archive, packed with ISA-L's gzip, and deleted.
    """
    from isal import igzip

    rows, cols = grid.tile_shape(tile, pixel)
    transform = grid.tile_transform(tile, pixel)
    stem = path.name[: -len(".tgz")]
    path.parent.mkdir(parents=True, exist_ok=True)
    tifs = {k: path.with_name(f".{stem}.{k}.tif") for k in ("avg_rade9h", "cf_cvg")}
    profile = dict(driver="GTiff", width=cols, height=rows, count=1, crs="EPSG:4326")
    profile["transform"] = transform
    with (
        rasterio.open(tifs["avg_rade9h"], "w", dtype="float32", **profile) as rd,
        rasterio.open(tifs["cf_cvg"], "w", dtype="uint16", **profile) as cd,
    ):
        for r0 in range(0, rows, block_rows):
            r1 = min(rows, r0 + block_rows)
            rad, cvg = tile_block(month, tile, pixel, r0, r1)
            win = Window(0, r0, cols, r1 - r0)
            rd.write(rad, 1, window=win)
            cd.write(cvg, 1, window=win)
    tmp = path.with_name(path.name + ".tmp")
    with igzip.open(tmp, "wb", compresslevel=2) as gz, tarfile.open(fileobj=gz, mode="w|") as tar:
        for kind, tif in tifs.items():
            info = tar.gettarinfo(tif, arcname=f"{stem}.{kind}.tif")
            info.mtime, info.uid, info.gid, info.uname, info.gname = 1_500_000_000, 0, 0, "", ""
            with open(tif, "rb") as f:
                tar.addfile(info, f)
            tif.unlink()
    tmp.replace(path)
    return path


def make_tree(
    root,
    start: str,
    end: str,
    pixel_arcsec: float = 600,
    product: str = "vcmcfg",
    tiles=grid.TILE_IDS,
    stamp=None,
) -> list[Path]:
    """Write the server tree for a month range; existing archives are kept."""
    pixel = pixel_arcsec / 3600.0
    out = []
    for month in month_range(start, end):
        d = Path(root) / month[:4] / compact(month) / product
        for tile in tiles:
            p = d / archive_name(month, tile, product, stamp or default_stamp(month))
            if not p.exists():
                write_archive(p, month, tile, pixel)
            out.append(p)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--start", required=True)
    ap.add_argument("--end", required=True)
    ap.add_argument("--pixel-arcsec", type=float, default=600)
    ap.add_argument("--product", default="vcmcfg")
    a = ap.parse_args(argv)
    paths = make_tree(a.root, a.start, a.end, a.pixel_arcsec, a.product)
    print(f"{len(paths)} archives under {a.root}")


if __name__ == "__main__":
    main()
