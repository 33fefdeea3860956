"""Synthetic NASA Black Marble VNP46A3 (monthly) HDF5 tiles, as LAADS serves them.

Layout and names (docs/evidence/blackmarble.md §1): ``archive/allData/5200/VNP46A3/{YYYY}/{DOY}/
VNP46A3.A{YYYY}{DOY}.h{HH}v{VV}.002.{YYYYDDDHHMMSS}.h5`` with DOY the day of year of the
month's first day (§1.5) and a 13-digit production stamp (§1.1) that differs per tile
(so a client must list a month, never guess a name). Collection 5000 writes ``.001.``.
The grid is :func:`.grids.bm_tile` (10-degree tiles, pixel edges on the tile corners, §5,
written out from the evidence) at a reduced pixel size (60 x 60 pixels per tile at 600").

File structure (§3), written with h5py, 2-D datasets chunked and gzip-compressed:

- ``HDFEOS/GRIDS/VIIRS_Grid_DNB_2d/Data Fields/`` (§3.1) holds, for each of
  AllAngle/NearNadir/OffNadir x Snow_Free/Snow_Covered, ``<X>_Composite_<S>``,
  ``..._Num``, ``..._Quality`` and ``..._Std`` (24 datasets), plus ``DNB_Platform``,
  ``Land_Water_Mask``, ``lat`` and ``lon`` (28 in all, as ALEPH measured).
- Collection 2 (5200, §3.2): radiance float32 with fill -999.9 (compare as float32),
  attributes ``_FillValue`` (float32 -999.9), ``scale_factor`` 1.0, ``add_offset`` 0.0
  (``offset_attr="offset"`` writes ``offset`` instead: the name newest blackmarblepy
  reads), ``units`` b"nWatts/(cm^2 sr)", ``long_name`` (the offset's attribute name is
  NOT confirmed for real files, §3.2); values below 0.5 are exactly 0, never negative
  (ALEPH: "set to exactly 0").
  ``_Num`` uint16, attribute ``_FillValue`` 65535 but 0 on fill pixels (ALEPH measured
  ``_Num`` = 0 on all 3,339,711 fill pixels of a real tile, §3.2); ``_Quality`` uint8
  (dtype NOT re-verified) 0 good (more than 3 observations), 1 poor (1..3), 2 gap filled
  from history (no observation; ALEPH: Q2 => Num 0), 255 fill (§4); ``_Std`` float32,
  fill -999.9 (NOT confirmed).
  Collection 1 (5000, ``collection="5000"``): radiance and Std uint16 x 0.1 with fill
  65535 and ``scale_factor`` 0.1 (blackmarbler's ``x * 0.1``, §3.2).
- ``lat`` (descending from the north edge) and ``lon`` (ascending from the west edge),
  1-D pixel centres (§3.2: 1-D, 2400 values each; centres or edges NOT confirmed), float64.
- ``HDFEOS INFORMATION/StructMetadata.0`` (§3.3 item 4, the VNP46A1 C2 example): GridName,
  XDim, YDim, UpperLeftPointMtrs/LowerRightMtrs in degrees x 1e6, Projection=HE5_GCTP_GEO,
  GridOrigin=HE5_HDFE_GD_UL.
- file attributes ``HorizontalTileNumber``/``VerticalTileNumber`` (zero-padded bytes,
  b"08", §3.3 item 1) and ``West/East/North/SouthBoundingCoord`` (numbers: older
  blackmarblepy passes them to ``from_origin`` as they are, §3.3 item 3).

Values sample :mod:`.world` at the pixel centres with their own calibration and noise
(:data:`GAIN` x the world's light + noise, so about 0.9 x EOG's): ``_Num`` is the world's
cloud-free count; where it is 0 (the cloudy box, the scattered unobserved pixels) the
pixel is gap filled (quality 2) with the light of a year before; :data:`FILL_SHARE` of the
pixels are fill everywhere (radiance -999.9, Num 0, quality 255, Land_Water_Mask 255:
ALEPH saw fill only where the mask is 255). OffNadir has fewer observations than NearNadir
(so more gaps), AllAngle combines both. Snow_Covered composites are fill everywhere (their
real content is NOT confirmed; a reader must not pick them by accident).

``python -m sezlights_standin.blackmarble_tiles --root DIR --start 2019-01 --end 2019-02``
"""

from __future__ import annotations

import argparse
import datetime as dt
import zlib
from pathlib import Path

import numpy as np

from . import grids, world
from .calendar import from_index, month_index, parse_month

# product: (satellite, DNB_Platform value, first month, last month, gain, key) -- months
# from docs/evidence/blackmarble.md §7-§8 (VNP46A3 2012-01..2026-10: Suomi NPP's delivery
# ceased 2026-11-01; VJ146A3 from 2018-01); DNB_Platform 0 = Suomi NPP, 1 = NOAA-20 (the
# User Guide's table, §8: the value in real files is NOT confirmed). NOAA-20 sees the same
# world with its own calibration (its gain) and noise (its key), so the overlap compares.
PRODUCTS = {
    "VNP46A3": ("npp", 0, "2012-01", "2026-10", 1.0, "blackmarble"),
    "VJ146A3": ("j01", 1, "2018-01", None, 0.93, "blackmarble-j01"),
}
PRODUCT = "VNP46A3"
GRID = "VIIRS_Grid_DNB_2d"
DATA_FIELDS = f"HDFEOS/GRIDS/{GRID}/Data Fields"
ANGLES = ("AllAngle", "NearNadir", "OffNadir")
SNOW = ("Snow_Free", "Snow_Covered")
VERSIONS = {"5200": "002", "5000": "001"}  # archive set -> collection version in the name
FILL = np.float32(-999.9)  # Collection 2 radiance/Std fill
FILL_U16 = np.uint16(65535)
FILL_U8 = np.uint8(255)
GAIN = 0.9  # Black Marble's light relative to the world's (EOG's) light
NOISE = 0.25  # sd of Black Marble's own noise, nW/cm2/sr
ZERO_BELOW = 0.5  # composites below this are exactly 0 (User Guide via ALEPH, §3.2)
FILL_SHARE = 0.002
OFF_NADIR_GAIN = 1.08
UNITS = b"nWatts/(cm^2 sr)"
C2_REPROCESSED = dt.date(2025, 5, 13)  # C2 back-processing stamps read 2025133... (§1.1, §6)


def doy(month: str) -> str:
    """Day of year of the month's first day, 3 digits (docs/evidence/blackmarble.md §1.5)."""
    y, m = (int(p) for p in parse_month(month).split("-"))
    return f"{dt.date(y, m, 1).timetuple().tm_yday:03d}"


def month_folder(month: str, collection: str = "5200", product: str = PRODUCT) -> str:
    """``archive/allData/{collection}/{product}/{YYYY}/{DOY}`` (relative)."""
    return f"archive/allData/{collection}/{product}/{month[:4]}/{doy(month)}"


def exists(product: str, month: str) -> bool:
    """Whether ``product`` has ``month`` (its months, as the evidence gives them)."""
    _, _, first, last, _, _ = PRODUCTS[product]
    i = month_index(month)
    return i >= month_index(first) and (last is None or i <= month_index(last))


def default_stamp(month: str, tile: str, collection: str = "5200", product: str = PRODUCT) -> str:
    """A 13-digit production stamp ``YYYYDDDHHMMSS`` with a per-tile time of day.

    Collection 2 months before mid-2025 carry the back-processing date 2025-133 (the real
    names of §1.1 do); later ones about 20 days after the month ends (§6: NOT confirmed).
    Collection 1: 45 days after the month ends.
    """
    nxt = from_index(month_index(month) + 1)
    month_end = dt.date(int(nxt[:4]), int(nxt[5:]), 1)
    if collection == "5000":
        made = month_end + dt.timedelta(days=45)
    else:
        made = max(month_end + dt.timedelta(days=20), C2_REPROCESSED)
    key = f"{month}/{tile}/{collection}" + ("" if product == PRODUCT else f"/{product}")
    seconds = zlib.crc32(key.encode()) % 86400
    hh, mm, ss = seconds // 3600, seconds // 60 % 60, seconds % 60
    return f"{made.year:04d}{made.timetuple().tm_yday:03d}{hh:02d}{mm:02d}{ss:02d}"


def file_name(
    month: str,
    tile: str,
    collection: str = "5200",
    stamp: str | None = None,
    product: str = PRODUCT,
) -> str:
    """``{PRODUCT}.A{YYYY}{DOY}.{tile}.{CCC}.{stamp}.h5``."""
    stamp = stamp or default_stamp(month, tile, collection, product)
    return f"{product}.A{month[:4]}{doy(month)}.{tile}.{VERSIONS[collection]}.{stamp}.h5"


def default_tiles(pixel: float | None = None) -> list[str]:
    """Tiles within one tile of a city. The tree has gaps on purpose: a month's
    listing on LAADS need not hold every tile (ALEPH counted 536-540 of 648 a month,
    §1.3), so a zone's neighbouring tile may be absent."""
    out = set()
    for lon, lat, *_ in world.CITIES:
        h, v = int((lon + 180) // 10), int((90 - lat) // 10)
        for dh in (-1, 0, 1):
            for dv in (-1, 0, 1):
                if 0 <= h + dh < 36 and 0 <= v + dv < 18:
                    out.add(grids.bm_tile_name(h + dh, v + dv))
    return sorted(out)


# ------------------------------------------------------------------- values


def _quality(num: np.ndarray) -> np.ndarray:
    return np.where(num > 3, 0, np.where(num >= 1, 1, 2)).astype(np.uint8)


def _composite(value: np.ndarray) -> np.ndarray:
    return np.where(value < ZERO_BELOW, 0.0, value).astype(np.float32)


def tile_arrays(
    month: str, tile: str, pixel: float, collection: str = "5200", product: str = PRODUCT
) -> dict:
    """Every dataset of ``Data Fields`` by name, as :func:`write_file` writes it."""
    _, platform, _, _, gain, key = PRODUCTS[product]
    transform, rows, cols = grids.bm_tile(tile, pixel)
    s = world.sample(month, transform, cols, 0, rows, key=f"{key}/{tile}", extra=True)
    history = world.light(from_index(month_index(month) - 12), s.lon, s.lat)
    fill = s.uniform < FILL_SHARE
    noise = NOISE * s.normal
    near_num = s.cloud_free.astype(np.uint16)
    off_num = np.where(near_num > 2, near_num - 2, 0).astype(np.uint16)
    views = {}
    platform_gain = gain
    for name, gain, num in (("NearNadir", 1.0, near_num), ("OffNadir", OFF_NADIR_GAIN, off_num)):
        observed = _composite(GAIN * platform_gain * gain * s.light + noise)
        gap = _composite(GAIN * platform_gain * gain * history)
        views[name] = (np.where(num > 0, observed, gap).astype(np.float32), num)
    (near, nn), (off, no) = views["NearNadir"], views["OffNadir"]
    all_num = (nn + no).astype(np.uint16)
    weights = np.maximum(all_num, 1)
    all_value = np.where(all_num > 0, (near * nn + off * no) / weights, near)
    views["AllAngle"] = (all_value.astype(np.float32), all_num)

    out = {}
    for angle in ANGLES:
        value, num = views[angle]
        std = np.where(num > 0, np.round(0.08 * value + 0.05 * np.abs(s.normal), 3), FILL)
        free = f"{angle}_Composite_Snow_Free"
        out[free] = np.where(fill, FILL, value).astype(np.float32)
        out[free + "_Num"] = np.where(fill, 0, num).astype(np.uint16)  # real fill: Num 0
        out[free + "_Quality"] = np.where(fill, FILL_U8, _quality(num)).astype(np.uint8)
        out[free + "_Std"] = np.where(fill, FILL, std).astype(np.float32)
        covered = f"{angle}_Composite_Snow_Covered"
        out[covered] = np.full((rows, cols), FILL, dtype=np.float32)
        out[covered + "_Num"] = np.zeros((rows, cols), dtype=np.uint16)
        out[covered + "_Quality"] = np.full((rows, cols), FILL_U8, dtype=np.uint8)
        out[covered + "_Std"] = np.full((rows, cols), FILL, dtype=np.float32)
    land = world.near_city(s.lon, s.lat, 3.0)
    out["DNB_Platform"] = np.where(fill, FILL_U8, platform).astype(np.uint8)  # NOT confirmed
    out["Land_Water_Mask"] = np.where(fill, FILL_U8, np.where(land, 1, 5)).astype(np.uint8)
    out["lat"] = s.lat.astype(np.float64)
    out["lon"] = s.lon.astype(np.float64)
    if collection == "5000":
        out = {k: _to_c1(k, v) for k, v in out.items()}
    return out


def _radiance_like(name: str) -> bool:
    return "_Composite_" in name and not name.endswith(("_Num", "_Quality"))


def _to_c1(name: str, arr: np.ndarray) -> np.ndarray:
    """Collection 1: radiance and Std as uint16 tenths, fill 65535 (saturating at 6553.4)."""
    if not _radiance_like(name):
        return arr
    tenths = np.clip(np.round(arr.astype(np.float64) * 10), 0, 65534).astype(np.uint16)
    return np.where(arr == FILL, FILL_U16, tenths).astype(np.uint16)


# ------------------------------------------------------------------- files


def _attrs(name: str, collection: str, offset_attr: str = "add_offset") -> dict:
    if name in ("lat", "lon"):
        units = b"degrees_north" if name == "lat" else b"degrees_east"
        return {"units": units, "long_name": b"Latitude" if name == "lat" else b"Longitude"}
    long_name = name.replace("_", " ").encode()
    if _radiance_like(name):
        if collection == "5000":
            fill, scale = FILL_U16, 0.1
        else:
            fill, scale = FILL, 1.0
        return {
            "_FillValue": fill,
            "scale_factor": scale,
            offset_attr: 0.0,
            "units": UNITS,
            "long_name": long_name,
        }
    if name.endswith("_Num"):
        return {"_FillValue": FILL_U16, "long_name": long_name}
    return {"_FillValue": FILL_U8, "long_name": long_name}  # _Quality, DNB_Platform, mask


_H5_TYPES = {
    "float32": "H5T_NATIVE_FLOAT",
    "float64": "H5T_NATIVE_DOUBLE",
    "uint16": "H5T_NATIVE_USHORT",
    "uint8": "H5T_NATIVE_UCHAR",
}


def struct_metadata(tile: str, pixel: float, arrays: dict) -> str:
    """HDF-EOS5 ``StructMetadata.0`` of one grid (docs/evidence/blackmarble.md §3.3 item 4)."""
    t, rows, cols = grids.bm_tile(tile, pixel)
    west, north = t.c, t.f
    east, south = west + cols * t.a, north + rows * t.e
    fields = []
    for i, (name, arr) in enumerate(arrays.items(), start=1):
        dims = '("YDim","XDim")' if arr.ndim == 2 else ('("YDim")' if name == "lat" else '("XDim")')
        fields.append(
            f"\t\t\tOBJECT=DataField_{i}\n"
            f'\t\t\t\tDataFieldName="{name}"\n'
            f"\t\t\t\tDataType={_H5_TYPES[arr.dtype.name]}\n"
            f"\t\t\t\tDimList={dims}\n"
            f"\t\t\t\tMaxdimList={dims}\n"
            f"\t\t\tEND_OBJECT=DataField_{i}\n"
        )
    return (
        "GROUP=SwathStructure\nEND_GROUP=SwathStructure\nGROUP=GridStructure\n"
        "\tGROUP=GRID_1\n"
        f'\t\tGridName="{GRID}"\n'
        f"\t\tXDim={cols}\n\t\tYDim={rows}\n"
        f"\t\tUpperLeftPointMtrs=({west * 1e6:.6f},{north * 1e6:.6f})\n"
        f"\t\tLowerRightMtrs=({east * 1e6:.6f},{south * 1e6:.6f})\n"
        "\t\tProjection=HE5_GCTP_GEO\n\t\tGridOrigin=HE5_HDFE_GD_UL\n"
        "\t\tGROUP=Dimension\n\t\tEND_GROUP=Dimension\n"
        "\t\tGROUP=DataField\n" + "".join(fields) + "\t\tEND_GROUP=DataField\n"
        "\t\tGROUP=MergedFields\n\t\tEND_GROUP=MergedFields\n"
        "\tEND_GROUP=GRID_1\nEND_GROUP=GridStructure\n"
        "GROUP=PointStructure\nEND_GROUP=PointStructure\n"
        "GROUP=ZaStructure\nEND_GROUP=ZaStructure\nEND\n"
    )


def _set_attrs(obj, attrs: dict) -> None:
    """Bytes as fixed-length ASCII strings (h5py reads them back as bytes, as in NASA's
    files); numbers with their numpy dtype."""
    for k, val in attrs.items():
        obj.attrs[k] = np.bytes_(val) if isinstance(val, bytes) else val


def write_file(
    path,
    month: str,
    tile: str,
    pixel: float,
    collection: str = "5200",
    offset_attr: str = "add_offset",
    product: str = PRODUCT,
    chunk: int | None = 600,
) -> Path:
    """Write one tile of ``product`` (atomically); ``offset_attr``: the radiance offset's
    attribute name, ``add_offset`` or ``offset``; ``chunk``: the 2-D datasets' chunk
    size (gzip-compressed), or None for contiguous, uncompressed datasets (real files'
    chunking is not known, docs/evidence/blackmarble.md)."""
    import h5py

    if offset_attr not in ("add_offset", "offset"):
        raise ValueError("offset_attr must be 'add_offset' or 'offset'")
    path = Path(path)
    t, rows, cols = grids.bm_tile(tile, pixel)
    arrays = tile_arrays(month, tile, pixel, collection, product)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    chunks = (min(rows, chunk), min(cols, chunk)) if chunk else None
    with h5py.File(tmp, "w") as f:
        h, v = tile[1:3], tile[4:6]
        nxt = from_index(month_index(month) + 1)
        last = dt.date(int(nxt[:4]), int(nxt[5:]), 1) - dt.timedelta(days=1)
        _set_attrs(
            f,
            {
                "ShortName": product.encode(),
                "LocalGranuleID": path.name.encode(),
                "HorizontalTileNumber": h.encode(),
                "VerticalTileNumber": v.encode(),
                "WestBoundingCoord": float(t.c),
                "EastBoundingCoord": float(t.c + cols * t.a),
                "NorthBoundingCoord": float(t.f),
                "SouthBoundingCoord": float(t.f + rows * t.e),
                "RangeBeginningDate": f"{month}-01".encode(),
                "RangeEndingDate": last.isoformat().encode(),
                "CollectionVersion": VERSIONS[collection].encode(),
            },
        )
        info = f.create_group("HDFEOS INFORMATION")
        _set_attrs(info, {"HDFEOSVersion": b"HDFEOS_5.1.15"})
        info.create_dataset(
            "StructMetadata.0", data=np.bytes_(struct_metadata(tile, pixel, arrays))
        )
        f.create_group("HDFEOS/ADDITIONAL/FILE_ATTRIBUTES")
        fields = f.create_group(DATA_FIELDS)
        for name, arr in arrays.items():
            if arr.ndim == 2 and chunks:
                ds = fields.create_dataset(
                    name, data=arr, chunks=chunks, compression="gzip", compression_opts=4
                )
            else:
                ds = fields.create_dataset(name, data=arr)
            _set_attrs(ds, _attrs(name, collection, offset_attr))
    tmp.replace(path)
    return path


def _months(start: str, end: str) -> list[str]:
    # not months.month_range: Black Marble starts 2012-01 (evidence §6), before EOG
    a, b = month_index(parse_month(start)), month_index(parse_month(end))
    return [from_index(i) for i in range(a, b + 1)]


def make_tree(
    root,
    start: str,
    end: str,
    pixel_arcsec: float = 600,
    tiles=None,
    collection: str = "5200",
    products=(PRODUCT,),
    chunk: int | None = 600,
) -> list[Path]:
    """Write the LAADS tree under ``root`` (``root/archive/allData/...``) for a month range,
    each product over the months it exists (:func:`exists`).

    ``tiles=None``: :func:`default_tiles`. A tile already present for a month (any stamp)
    is kept. Returns the file paths.
    """
    pixel = pixel_arcsec / 3600.0
    tiles = default_tiles() if tiles is None else list(tiles)
    products = (products,) if isinstance(products, str) else tuple(products)
    out = []
    for month in _months(start, end):
        for product in products:
            if not exists(product, month):
                continue
            folder = Path(root) / month_folder(month, collection, product)
            for tile in tiles:
                head = f"{product}.A{month[:4]}{doy(month)}.{tile}.{VERSIONS[collection]}."
                existing = sorted(folder.glob(head + "*.h5")) if folder.is_dir() else []
                p = (
                    existing[0]
                    if existing
                    else folder / file_name(month, tile, collection, product=product)
                )
                if not existing:
                    write_file(p, month, tile, pixel, collection, product=product, chunk=chunk)
                out.append(p)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True, help="the folder that holds archive/")
    ap.add_argument("--start", required=True)
    ap.add_argument("--end", required=True)
    ap.add_argument("--pixel-arcsec", type=float, default=600)
    ap.add_argument("--collection", default="5200", choices=sorted(VERSIONS))
    ap.add_argument("--tile", action="append", help="default: the tiles near the cities")
    a = ap.parse_args(argv)
    paths = make_tree(a.root, a.start, a.end, a.pixel_arcsec, a.tile, a.collection)
    print(f"{len(paths)} files under {a.root}")


if __name__ == "__main__":
    main()
