"""Synthetic EOG monthly tile archives (VIIRS DNB v10), in the real layout and naming.

Each archive is
``{root}/{YYYY}/{YYYYMM}/{product}/SVDNB_npp_{first}-{last}_{tile}_{product}_v10_c{stamp}.tgz``
with GeoTIFF members ``<tgz stem>.<layer>.tif`` and no folder (docs/evidence/eog.md,
"Archive members"), on the real grid (:func:`.grids.eog_tile`: 6 tiles, pixel centres on
multiples of the pixel size, written out from the evidence) at a reduced pixel size. The
values sample :mod:`.world`.

The real service's irregularities are on by default in :func:`make_tree` (and in the
names :func:`write_archive` gives the members); ``plain=True`` turns them all off
(``npp``, 12-digit stamps, ``avg_rade9h``, two members) for comparison runs:

- vcmcfg starts 2012-04 (docs/evidence/eog.md, "Products": aiddata "dataset starts in
  April 2012!"); ``vcmslcfg`` starts 2014-01: its month folders 2012-04..2013-12 exist
  but are empty (an INFERENCE: a client must treat an empty folder as "not published",
  not as an error);
- 2014-01 vcmslcfg carries the 13-digit stamp ``c2015006171539`` ("Creation stamps",
  several independent file names): :data:`LONG_STAMPS`;
- 2022-08 is NOAA-20 only: ``{YYYY}/{YYYYMM}/NOAA-20/{product}/SVDNB_j01_..._c202209231200``
  with no ``{product}/`` folder at the month's top level ("NOAA-20": a Go test's URL and
  aiddata's and a Julia script's special case): :data:`REAL_STAMPS`. Whether vcmslcfg
  exists for 2022-08 is unknown; here it follows vcmcfg (under ``NOAA-20/``);
- months up to 2017-05 name the radiance member ``...avg_rade9.tif`` (no ``h``), later
  ones ``...avg_rade9h.tif`` ("Archive members": ``avg_rade9`` in 2012-10..2016-09
  names, ``avg_rade9h`` later; the exact switch month is unknown, 2017-05 is a choice
  inside the gap; 2014-01 vcmslcfg and one 2014-01 vcmcfg copy are ``avg_rade9h``, so a
  client must accept either at any month);
- every archive also holds ``...cvg.tif`` (all observations, cloudy ones included;
  "Archive members"), which is not ``cf_cvg``. Its position varies: first in some
  archives, between the other two in others, last in the rest (:func:`layers`).

Radiance (float32) and cf_cvg (uint16) depend only on (month, tile, pixel size) --
never on the product, the naming variant or the satellite -- and where cf_cvg is 0 the
radiance is 0, as EOG writes it (the old synthetic tiles did the same in the cloudy box).

``python -m sezlights_standin.eog_tiles --root DIR --start 2019-01 --end 2019-04``
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

from . import grids, world
from .calendar import compact, month_bounds, month_index, month_range

CITIES = world.CITIES  # the old synthetic.CITIES (bench/benchmark.py places zones by them)
CLOUDY = world.CLOUDY
STAMP_BASE = "1200"
PRODUCTS = ("vcmcfg", "vcmslcfg")
VCMSLCFG_FROM = "2014-01"
NOAA20_MONTHS = frozenset({"2022-08"})
RADE9_UNTIL = "2017-05"  # last month whose radiance member is avg_rade9 (no h)
# 13 digits, read as 2015-06-17 15:39 with a stray 0 after the year (an inference,
# docs/evidence/eog.md "Creation stamps"; sources.eog.stamp_time)
LONG_STAMPS = {("2014-01", "vcmslcfg"): "2015006171539"}
# the real stamps of the months the stand-in reproduces (docs/evidence/eog.md)
REAL_STAMPS = {**LONG_STAMPS, ("2022-08", "vcmcfg"): "202209231200"}
MTIME = 1_500_000_000


def archive_name(month: str, tile: str, product: str, stamp: str, satellite: str = "npp") -> str:
    """``SVDNB_{satellite}_{YYYYMMDD}-{YYYYMMDD}_{tile}_{product}_v10_c{stamp}.tgz``."""
    first, last = month_bounds(month)
    return f"SVDNB_{satellite}_{first}-{last}_{tile}_{product}_v10_c{stamp}.tgz"


def default_stamp(month: str, product: str = "vcmcfg") -> str:
    """A creation stamp: ``YYYYMM051200`` of the next month (12 digits), except the
    real ones of :data:`REAL_STAMPS` (2014-01 vcmslcfg: the 13-digit ``2015006171539``;
    2022-08 vcmcfg: ``202209231200``)."""
    if (month, product) in REAL_STAMPS:
        return REAL_STAMPS[(month, product)]
    i = month_index(month) + 1
    return f"{i // 12:04d}{i % 12 + 1:02d}05{STAMP_BASE}"


def satellite(month: str, plain: bool = False) -> str:
    """``j01`` (NOAA-20) for 2022-08, else ``npp``."""
    return "j01" if month in NOAA20_MONTHS and not plain else "npp"


def month_folder(month: str, product: str = "vcmcfg", plain: bool = False) -> str:
    """The product folder of a month, relative to the ``v10`` root."""
    top = f"{month[:4]}/{compact(month)}"
    if month in NOAA20_MONTHS and not plain:
        return f"{top}/NOAA-20/{product}"
    return f"{top}/{product}"


def radiance_layer(month: str, plain: bool = False) -> str:
    if plain or month_index(month) > month_index(RADE9_UNTIL):
        return "avg_rade9h"
    return "avg_rade9"


def layers(month: str, stem: str, plain: bool = False) -> tuple[str, ...]:
    """Member layers of an archive, in order: radiance, cf_cvg, and cvg somewhere."""
    rad = radiance_layer(month, plain)
    if plain:
        return (rad, "cf_cvg")
    return (
        ("cvg", rad, "cf_cvg"),
        (rad, "cvg", "cf_cvg"),
        (rad, "cf_cvg", "cvg"),
    )[zlib.crc32(stem.encode()) % 3]


def archive_path(
    root, month: str, tile: str, product: str = "vcmcfg", stamp: str | None = None, plain=False
) -> Path:
    """Where :func:`make_tree` puts an archive (``root`` is the ``v10`` folder)."""
    stamp = stamp or (default_stamp(month) if plain else default_stamp(month, product))
    name = archive_name(month, tile, product, stamp, satellite(month, plain))
    return Path(root) / month_folder(month, product, plain) / name


# ------------------------------------------------------------------- values


TILE_IDS = tuple(grids.EOG_TILES)


def _block(month: str, tile: str, pixel: float, r0: int, r1: int):
    transform, _, cols = grids.eog_tile(tile, pixel)
    s = world.sample(month, transform, cols, r0, r1, key=f"eog/{tile}")
    rad = (s.noise + np.round(s.light, 2)).astype(np.float32)
    cf = s.cloud_free
    rad[cf == 0] = 0.0
    # all observations: the cloud-free ones plus some cloudy ones; none where unobserved
    cvg = np.where(s.unobserved, 0, np.where(s.cloudy, 5, cf + (cf * 7) % 5)).astype(np.uint16)
    return rad, cf, cvg


def tile_block(month: str, tile: str, pixel: float, r0: int, r1: int):
    """Rows ``r0:r1`` of a tile: radiance (float32) and cf_cvg (uint16).

    The same values whichever way a tile is cut into blocks (see :mod:`.world`).
    """
    rad, cf, _ = _block(month, tile, pixel, r0, r1)
    return rad, cf


def tile_layers(month: str, tile: str, pixel: float, r0: int, r1: int):
    """Rows ``r0:r1`` of a tile: radiance, cf_cvg and cvg (as :func:`tile_block`, plus cvg)."""
    return _block(month, tile, pixel, r0, r1)


def tile_arrays(month: str, tile: str, pixel: float) -> tuple[np.ndarray, np.ndarray]:
    """A whole tile: radiance (float32) and cf_cvg (uint16)."""
    return tile_block(month, tile, pixel, 0, grids.eog_tile(tile, pixel)[1])


# ------------------------------------------------------------------- archives


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


def _stem(path: Path) -> str:
    if not path.name.endswith(".tgz"):
        raise ValueError(f"{path.name}: an EOG archive name ends with .tgz")
    return path.name[: -len(".tgz")]


def write_archive(path, month: str, tile: str, pixel: float, *, plain: bool = False) -> Path:
    """Write one archive (atomically); members named after ``path``'s stem."""
    path = Path(path)
    stem = _stem(path)
    transform, rows, _ = grids.eog_tile(tile, pixel)
    rad, cf, cvg = _block(month, tile, pixel, 0, rows)
    arrays = {"cf_cvg": cf, "cvg": cvg, radiance_layer(month, plain): rad}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tarfile.open(tmp, "w:gz", compresslevel=6) as tar:
        for layer in layers(month, stem, plain):
            data = _tif_bytes(arrays[layer], transform)
            info = tarfile.TarInfo(f"{stem}.{layer}.tif")
            info.size, info.mtime = len(data), MTIME
            tar.addfile(info, io.BytesIO(data))
    tmp.replace(path)
    return path


def write_archive_blocks(
    path, month: str, tile: str, pixel: float, block_rows: int = 1000, *, plain: bool = False
) -> Path:
    """Like :func:`write_archive` for full-size tiles: bounded memory, fast gzip.

    Each band is written block by block as a plain (uncompressed, stripped) GeoTIFF
    beside the archive, packed with ISA-L's gzip, and deleted. Same values and members
    as :func:`write_archive`.
    """
    from isal import igzip

    path = Path(path)
    stem = _stem(path)
    transform, rows, cols = grids.eog_tile(tile, pixel)
    order = layers(month, stem, plain)
    rad_layer = radiance_layer(month, plain)
    dtypes = {rad_layer: "float32", "cf_cvg": "uint16", "cvg": "uint16"}
    path.parent.mkdir(parents=True, exist_ok=True)
    tifs = {k: path.with_name(f".{stem}.{k}.tif") for k in order}
    profile = dict(driver="GTiff", width=cols, height=rows, count=1, crs="EPSG:4326")
    profile["transform"] = transform
    outs = {k: rasterio.open(tifs[k], "w", dtype=dtypes[k], **profile) for k in order}
    try:
        for r0 in range(0, rows, block_rows):
            r1 = min(rows, r0 + block_rows)
            rad, cf, cvg = _block(month, tile, pixel, r0, r1)
            arrays = {rad_layer: rad, "cf_cvg": cf, "cvg": cvg}
            for k, ds in outs.items():
                ds.write(arrays[k], 1, window=Window(0, r0, cols, r1 - r0))
    finally:
        for ds in outs.values():
            ds.close()
    tmp = path.with_name(f".{path.name}.tmp")
    with igzip.open(tmp, "wb", compresslevel=2) as gz, tarfile.open(fileobj=gz, mode="w|") as tar:
        for k, tif in tifs.items():
            info = tar.gettarinfo(tif, arcname=f"{stem}.{k}.tif")
            info.mtime, info.uid, info.gid, info.uname, info.gname = MTIME, 0, 0, "", ""
            with open(tif, "rb") as f:
                tar.addfile(info, f)
            tif.unlink()
    tmp.replace(path)
    return path


def read_archive(path) -> dict[str, np.ndarray]:
    """The layers of an archive as arrays, by layer name (``avg_rade9h``, ``cf_cvg``, ...)."""
    path = Path(path)
    stem = _stem(path)
    out = {}
    with tarfile.open(path, "r:gz") as tar:
        for member in tar:
            data = tar.extractfile(member).read()
            with rasterio.MemoryFile(data) as mem, mem.open() as ds:
                out[member.name[len(stem) + 1 : -len(".tif")]] = ds.read(1)
    return out


def make_tree(
    root,
    start: str,
    end: str,
    pixel_arcsec: float = 600,
    product="vcmcfg",
    tiles=TILE_IDS,
    stamp: str | None = None,
    *,
    plain: bool = False,
) -> list[Path]:
    """Write the server tree (``root`` = the ``v10`` folder) for a month range.

    ``product`` is one product or several. Existing archives are kept. Returns the
    archive paths; the empty vcmslcfg folders before 2014-01 are made but not returned.
    """
    pixel = pixel_arcsec / 3600.0
    products = (product,) if isinstance(product, str) else tuple(product)
    out = []
    for month in month_range(start, end):
        for prod in products:
            folder = Path(root) / month_folder(month, prod, plain)
            if prod == "vcmslcfg" and not plain and month_index(month) < month_index(VCMSLCFG_FROM):
                folder.mkdir(parents=True, exist_ok=True)
                continue
            for tile in tiles:
                p = archive_path(root, month, tile, prod, stamp, plain)
                if not p.exists():
                    write_archive(p, month, tile, pixel, plain=plain)
                out.append(p)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True, help="the v10 folder")
    ap.add_argument("--start", required=True)
    ap.add_argument("--end", required=True)
    ap.add_argument("--pixel-arcsec", type=float, default=600)
    ap.add_argument("--product", action="append", choices=PRODUCTS)
    ap.add_argument("--plain", action="store_true", help="no naming variants")
    a = ap.parse_args(argv)
    products = a.product or ["vcmcfg"]
    paths = make_tree(a.root, a.start, a.end, a.pixel_arcsec, products, plain=a.plain)
    print(f"{len(paths)} archives under {a.root}")


if __name__ == "__main__":
    main()
