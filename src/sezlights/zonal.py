"""Fast zonal statistics: the zone-to-pixel work done once, each month a gather.

The EOG grid is the same every month, so which pixels a zone touches is worked
out once per zones file (:func:`build_index`: GDAL's all-touched rasterisation of
each zone on the global lattice, the same rule rasterstats applies with
``all_touched=True``). Each month then reads only the rows of each tile that
some zone touches (:func:`gather`), and reduces the gathered values per zone with
numpy (:func:`reduce`). :mod:`sezlights.stats` (rasterstats over the mosaic) is the
reference this path is tested against.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from affine import Affine
from rasterio.features import rasterize
from rasterio.windows import Window

from . import archive, grid
from .stats import COLUMNS

KINDS = ("avg_rade9h", "cf_cvg")
ROW_GAP = 64  # rows needed less than this far apart are read in one window


def build_index(zones: gpd.GeoDataFrame, pixel: float) -> dict[str, np.ndarray]:
    """Global (row, col) of every pixel each zone touches, grouped by zone."""
    x0, y0 = grid.global_origin(pixel)
    ncols = grid.global_shape(pixel)[1]
    zone, rows, cols = [], [], []
    for i, geom in enumerate(zones.geometry):
        # each part on its own: a zone cut at the antimeridian has one part at
        # each end of the globe, and one window over both would span all of it
        parts = getattr(geom, "geoms", [geom])
        found = []
        for part in parts:
            r0, c0, h, w = grid.window_for_bounds(part.bounds, pixel, pad=1)
            transform = Affine(pixel, 0.0, x0 + c0 * pixel, 0.0, -pixel, y0 - r0 * pixel)
            mask = rasterize(
                [(part, 1)], out_shape=(h, w), transform=transform, all_touched=True, dtype="uint8"
            )
            rr, cc = np.nonzero(mask)
            found.append((rr.astype(np.int64) + r0) * ncols + (cc + c0))
        flat = np.unique(np.concatenate(found))
        rc = np.stack([flat // ncols, flat % ncols], axis=1).astype(np.int32)
        zone.append(np.full(len(rc), i, dtype=np.int32))
        rows.append(rc[:, 0])
        cols.append(rc[:, 1])
    return {
        "zone_id": np.array(zones.zone_id.astype(str).tolist(), dtype=str),
        "zone": np.concatenate(zone) if zone else np.zeros(0, np.int32),
        "row": np.concatenate(rows) if rows else np.zeros(0, np.int32),
        "col": np.concatenate(cols) if cols else np.zeros(0, np.int32),
        "pixel": np.array(pixel),
    }


def save_index(index: dict, dest: str | Path) -> None:
    from .atomic import atomic_path

    with atomic_path(dest, suffix=".npz") as tmp, open(tmp, "wb") as f:
        np.savez(f, **index)


def load_index(path: str | Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def tile_of_archive(name: str) -> str:
    from .discover import ARCHIVE_RE

    m = ARCHIVE_RE.match(Path(name).name)
    if not m:
        raise ValueError(f"{name} is not an EOG monthly tile archive name")
    return m["tile"]


def gather(
    index: dict, archives: list[str | Path], scratch: str | Path, kinds=KINDS, threads: int = 1
) -> dict[str, np.ndarray]:
    """Values of every indexed pixel, per band; NaN where no archive covers it.

    Each archive is read once, as a stream. A plain (uncompressed, stripped) GeoTIFF
    member, as EOG ships, is read straight out of the decompressed stream: its
    header gives the offset of every row, the rows some zone touches are kept, the
    rest is skipped, and nothing is written to disk. Any other layout is unpacked
    into ``scratch``, read in row windows and deleted: extra disk is then one
    unpacked band per thread. ``scratch`` must be a folder no other running job
    uses, since what a killed job left there is deleted first.

    With ``threads`` > 1, that many archives are read at once: ISA-L decompresses
    without holding the GIL, and each archive fills its own tile's pixels.
    """
    pixel = float(index["pixel"])
    rows, cols = index["row"], index["col"]
    out = {k: np.full(rows.size, np.nan, dtype=np.float64) for k in kinds}
    x0, y0 = grid.global_origin(pixel)
    for stale in Path(scratch).glob(".gather-*"):  # left by a job that was killed
        shutil.rmtree(stale, ignore_errors=True)

    def read(arc):
        tile = tile_of_archive(arc)
        t = grid.tile_transform(tile, pixel)
        r_off, c_off = round((y0 - t.f) / pixel), round((t.c - x0) / pixel)
        th, tw = grid.tile_shape(tile, pixel)
        sel = np.nonzero(
            (rows >= r_off) & (rows < r_off + th) & (cols >= c_off) & (cols < c_off + tw)
        )[0]
        if sel.size == 0:
            return
        r, c = rows[sel] - r_off, cols[sel] - c_off

        def take(kind, f, size):
            out[kind][sel] = _points_from_member(f, size, r, c, t, pixel, Path(arc).name, scratch)

        archive.each_member(arc, kinds, take)

    if threads > 1 and len(archives) > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(read, archives))  # list(): re-raise the first error
    else:
        for arc in archives:
            read(arc)
    return out


def crop_windows(zones: gpd.GeoDataFrame, pixel: float, context_pixels: int = 6):
    """Global-lattice window (row, col, height, width) around each zone, for maps.

    Padded by ``context_pixels`` or half the zone's size, whichever is more; not
    clipped (pixels outside the coverage come back NaN). A zone cut at the
    antimeridian is framed by its largest part.
    """
    x0, y0 = grid.global_origin(pixel)
    out = []
    for geom in zones.geometry:
        minx, _, maxx, _ = geom.bounds
        if maxx - minx > 180 and hasattr(geom, "geoms"):
            geom = max(geom.geoms, key=lambda g: g.area)
        minx, miny, maxx, maxy = geom.bounds
        pad = max(context_pixels * pixel, 0.5 * max(maxx - minx, maxy - miny))
        c0 = math.floor((minx - pad - x0) / pixel)
        c1 = math.ceil((maxx + pad - x0) / pixel)
        r0 = math.floor((y0 - maxy - pad) / pixel)
        r1 = math.ceil((y0 - miny + pad) / pixel)
        out.append((r0, c0, r1 - r0, c1 - c0))
    return out


def gather_crops(
    zones: gpd.GeoDataFrame,
    archives: list[str | Path],
    pixel: float,
    scratch: str | Path,
    context_pixels: int = 6,
) -> list[tuple[np.ndarray, tuple[float, float, float, float]]]:
    """Radiance around each zone, read from the month's archives (no mosaic).

    Returns, per zone, the array and its bounds (left, bottom, right, top).
    """
    x0, y0 = grid.global_origin(pixel)
    wins = crop_windows(zones, pixel, context_pixels)
    rows = [np.repeat(np.arange(r0, r0 + h), w) for r0, c0, h, w in wins]
    cols = [np.tile(np.arange(c0, c0 + w), h) for r0, c0, h, w in wins]
    index = {
        "row": np.concatenate(rows).astype(np.int64),
        "col": np.concatenate(cols).astype(np.int64),
        "pixel": np.array(pixel),
    }
    values = gather(index, archives, scratch, kinds=("avg_rade9h",))["avg_rade9h"]
    out, start = [], 0
    for r0, c0, h, w in wins:
        arr = values[start : start + h * w].reshape(h, w)
        start += h * w
        left, top = x0 + c0 * pixel, y0 - r0 * pixel
        out.append((arr, (left, top - h * pixel, left + w * pixel, top)))
    return out


HEADER_BYTES = 1 << 20  # a plain GeoTIFF's header and row offsets fit well within this


def _points_from_member(f, size, r, c, expected, pixel, name, scratch) -> np.ndarray:
    head = f.read(min(size, HEADER_BYTES))
    plan = _strip_plan(head, expected, pixel, name)
    if plan is None:
        return _points_via_disk(head, f, r, c, expected, pixel, name, scratch)
    offsets, row_bytes, rows_per_strip, width, dtype = plan
    values = np.empty(r.size, dtype=np.float64)
    order = np.argsort(r, kind="stable")
    r_sorted = r[order]
    pos = len(head)
    skip = bytearray(archive.CHUNK)
    for row in np.unique(r_sorted):
        strip, within = divmod(int(row), rows_per_strip)
        start = offsets[strip] + within * row_bytes
        if start < len(head) and pos == len(head):  # the row begins in the header bytes
            buf = head[start : start + row_bytes]
            rest = f.read(row_bytes - len(buf))
            buf += rest
            pos += len(rest)
        else:
            if start < pos:  # rows out of file order: not the plain layout after all
                raise _layout_error(name)
            while pos < start:
                n = f.readinto(memoryview(skip)[: min(len(skip), start - pos)])
                if not n:
                    raise EOFError(f"{name}: member ends before row {row}")
                pos += n
            buf = f.read(row_bytes)
            pos += len(buf)
        if len(buf) != row_bytes:
            raise EOFError(f"{name}: member ends inside row {row}")
        line = np.frombuffer(buf, dtype=dtype, count=width)
        a, b = np.searchsorted(r_sorted, [row, row + 1])
        idx = order[a:b]
        values[idx] = line[c[idx]]
    return values


def _layout_error(name):
    from .errors import CorruptArchiveError

    return CorruptArchiveError(
        f"{name}: its rows are not stored in order; delete it and run again to download it anew."
    )


def _strip_plan(head: bytes, expected: Affine, pixel: float, name: str):
    """Row offsets of a plain GeoTIFF from its first bytes, or None for other layouts."""
    if head[:4] not in (b"II*\x00", b"MM\x00*"):
        return None
    try:
        with rasterio.MemoryFile(head) as mem, mem.open() as src:
            _check_tile(src, expected, pixel, name)
            if src.count != 1 or src.compression is not None or src.block_shapes[0][1] != src.width:
                return None
            bys = src.block_shapes[0][0]
            n_strips = -(-src.height // bys)
            offsets = [
                int(src.get_tag_item(f"BLOCK_OFFSET_0_{i}", "TIFF", bidx=1) or 0)
                for i in range(n_strips)
            ]
            dtype = np.dtype(src.dtypes[0]).newbyteorder("<" if head[:2] == b"II" else ">")
            width = src.width
    except rasterio.errors.RasterioIOError:
        return None  # header larger than HEADER_BYTES: read it from disk instead
    if min(offsets) <= 0:  # sparse file: rows that are not stored
        return None
    return np.array(offsets, dtype=np.int64), width * dtype.itemsize, bys, width, dtype


def _points_via_disk(head, f, r, c, expected, pixel, name, scratch) -> np.ndarray:
    tmp = Path(tempfile.mkdtemp(prefix=".gather-", dir=scratch))
    try:
        path = tmp / "band.tif"
        with open(path, "wb") as fo:
            fo.write(head)
            shutil.copyfileobj(f, fo, archive.CHUNK)
        with rasterio.open(path) as src:
            _check_tile(src, expected, pixel, name)
            return _read_points(src, r, c)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _check_tile(src, expected: Affine, pixel: float, name: str) -> None:
    from .errors import UserError

    if not (
        abs(src.transform.a - pixel) < 1e-6 * pixel
        and abs(src.transform.c - expected.c) < 1e-3 * pixel
        and abs(src.transform.f - expected.f) < 1e-3 * pixel
    ):
        raise UserError(
            f"{name}: its grid ({src.transform.c:.6f}, {src.transform.f:.6f}, pixel "
            f"{src.transform.a:.10g}) is not the EOG grid for source.pixel_arcsec; fix the config."
        )


def _read_points(src, r: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Values at (r, c) of band 1, reading windows of nearby rows only."""
    values = np.empty(r.size, dtype=np.float64)
    order = np.argsort(r, kind="stable")
    r_sorted = r[order]
    uniq = np.unique(r_sorted)
    # split the needed rows into runs with gaps < ROW_GAP
    breaks = np.nonzero(np.diff(uniq) >= ROW_GAP)[0] + 1
    for run in np.split(uniq, breaks):
        lo, hi = int(run[0]), int(run[-1]) + 1
        a, b = np.searchsorted(r_sorted, [lo, hi])
        idx = order[a:b]
        cmin, cmax = int(c[idx].min()), int(c[idx].max()) + 1
        block = src.read(1, window=Window(cmin, lo, cmax - cmin, hi - lo))
        values[idx] = block[r[idx] - lo, c[idx] - cmin]
    return values


def reduce(index: dict, values: dict[str, np.ndarray], month: str) -> pd.DataFrame:
    """Per-zone statistics, same columns and rules as :func:`sezlights.stats.month_stats`."""
    ids = index["zone_id"]
    n = ids.size
    zone = index["zone"]
    rad, cvg = values["avg_rade9h"], values["cf_cvg"]
    valid = ~np.isnan(rad)
    z, v, cv = zone[valid], rad[valid], cvg[valid]
    count = np.bincount(z, minlength=n)
    total = np.bincount(z, weights=v, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
        dev = v - mean[z]
        std = np.sqrt(np.bincount(z, weights=dev * dev, minlength=n) / count)
        cvg_mean = np.bincount(z, weights=cv, minlength=n) / count
    vmin = np.full(n, np.nan)
    vmax = np.full(n, np.nan)
    cmin = np.full(n, np.nan)
    cmax = np.full(n, np.nan)
    median = np.full(n, np.nan)
    if z.size:
        np.fmin.at(vmin, z, v)
        np.fmax.at(vmax, z, v)
        np.fmin.at(cmin, z, cv)
        np.fmax.at(cmax, z, cv)
        order = np.lexsort((v, z))
        zs, vs = z[order], v[order]
        starts = np.searchsorted(zs, np.arange(n))
        has = count > 0
        lo = starts + (count - 1) // 2
        hi = starts + count // 2
        median[has] = (vs[lo[has]] + vs[hi[has]]) / 2
    df = pd.DataFrame({"zone_id": ids.astype(str), "month": month, "pixel_count": count})
    empty = count == 0
    for col, arr in (
        ("sum", total),
        ("mean", mean),
        ("median", median),
        ("min", vmin),
        ("max", vmax),
        ("std", std),
    ):
        arr = arr.astype(np.float64)
        arr[empty] = np.nan
        df[col] = arr
    df["cf_cvg_mean"] = np.where(empty, np.nan, cvg_mean)
    df["cf_cvg_min"] = cmin
    df["quality"] = np.select(
        [empty, np.nan_to_num(cmax, nan=0) <= 0], ["outside_coverage", "no_cloud_free"], "ok"
    )
    return df[COLUMNS].sort_values("zone_id", kind="stable").reset_index(drop=True)
