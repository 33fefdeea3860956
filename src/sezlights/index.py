"""The pixel index: which pixels of a source's grid each zone covers, and how much.

Worked out once per zones file and grid (each source has its own lattice), it
holds, for every zone, the exact fraction of each pixel's area inside the zone, on
the lat/lon grid (planar, in degrees: what exactextract computes by default).
Pixels wholly inside come from GDAL's centre-rule rasterisation; every pixel the
outline passes near (GDAL's all-touched rasterisation of the outline, grown by one
pixel) gets its exact fraction from shapely: the zone is clipped to the pixel's row
and intersected with each pixel box. So a 20 x 20 degree zone (23 million pixels)
costs a few thousand exact intersections, not 23 million; an SEZ smaller than a
pixel costs a handful.

Layout: runs of pixels with the same fraction along a row (``zone``, ``row``,
``col``, ``length``, ``weight``), split at tile edges and sorted by tile, row and
column, so a month's gather reads each needed row once and copies slices. A run
of fully covered pixels is one entry however long.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Geod
from rasterio.features import rasterize
from rasterio.windows import Window

from .atomic import atomic_path, write_json
from .grid import TileSet

MIN_FRACTION = 1e-9  # slivers below this (floating-point noise on shared edges) are dropped
SMALL_WINDOW = 4096  # windows up to this many pixels are computed exactly, pixel by pixel
_GEOD = Geod(ellps="WGS84")


def geodesic_area_km2(geom) -> float:
    return abs(_GEOD.geometry_area_perimeter(geom)[0]) / 1e6


def coverage(part, lattice, window: Window) -> np.ndarray:
    """Fraction (0..1, float64) of each pixel of ``window`` that lies inside ``part``."""
    h, w = int(window.height), int(window.width)
    p = lattice.pixel
    t = lattice.window_transform(window)
    x0, y0 = t.c, t.f
    if h * w <= SMALL_WINDOW:
        rows, cols = np.mgrid[0:h, 0:w]
        boxes = shapely.box(x0 + cols * p, y0 - (rows + 1) * p, x0 + (cols + 1) * p, y0 - rows * p)
        return shapely.area(shapely.intersection(boxes, part)) / (p * p)
    frac = rasterize([(part, 1)], out_shape=(h, w), transform=t, dtype="uint8").astype(np.float64)
    edge = rasterize(
        [(part.boundary, 1)], out_shape=(h, w), transform=t, all_touched=True, dtype="uint8"
    ).astype(bool)
    grown = edge.copy()  # one pixel more on every side: nothing the outline crosses is missed
    grown[1:] |= edge[:-1]
    grown[:-1] |= edge[1:]
    grown[:, 1:] |= grown[:, :-1].copy()
    grown[:, :-1] |= grown[:, 1:].copy()
    rr, cc = np.nonzero(grown)  # sorted by row
    starts = np.flatnonzero(np.diff(rr)) + 1
    for r, cols in zip(rr[np.r_[0, starts]] if rr.size else [], np.split(cc, starts), strict=True):
        top = y0 - r * p
        strip = shapely.clip_by_rect(
            part, x0 + cols.min() * p, top - p, x0 + (cols.max() + 1) * p, top
        )
        if strip.is_empty:
            frac[r, cols] = 0.0
            continue
        boxes = shapely.box(x0 + cols * p, top - p, x0 + (cols + 1) * p, top)
        frac[r, cols] = shapely.area(shapely.intersection(boxes, strip)) / (p * p)
    return frac


def _clusters(parts, lattice) -> list[tuple[Window, list]]:
    """Parts grouped so that no two groups' windows share a pixel, with each group's window."""
    groups: list[tuple[Window, list]] = []
    for part in parts:
        win = lattice.window_for_bounds(part.bounds, pad=1)
        merged = True
        members = [part]
        while merged:
            merged = False
            for i, (gwin, gparts) in enumerate(groups):
                if _overlap(win, gwin):
                    win = _union(win, gwin)
                    members += gparts
                    groups.pop(i)
                    merged = True
                    break
        groups.append((win, members))
    return groups


def _overlap(a: Window, b: Window) -> bool:
    return (
        a.col_off < b.col_off + b.width
        and b.col_off < a.col_off + a.width
        and a.row_off < b.row_off + b.height
        and b.row_off < a.row_off + a.height
    )


def _union(a: Window, b: Window) -> Window:
    c0, r0 = min(a.col_off, b.col_off), min(a.row_off, b.row_off)
    c1 = max(a.col_off + a.width, b.col_off + b.width)
    r1 = max(a.row_off + a.height, b.row_off + b.height)
    return Window(c0, r0, c1 - c0, r1 - r0)


def _runs(frac: np.ndarray, window: Window):
    """(row, col, length, weight) of runs of equal non-zero fraction along each row."""
    h, w = frac.shape
    flat = frac.astype(np.float32).ravel()
    flat[flat < MIN_FRACTION] = 0.0
    np.minimum(flat, 1.0, out=flat)
    change = np.empty(flat.size, dtype=bool)
    change[0] = True
    np.not_equal(flat[1:], flat[:-1], out=change[1:])
    change[::w] = True
    starts = np.flatnonzero(change)
    lengths = np.diff(np.append(starts, flat.size))
    values = flat[starts]
    keep = values > 0
    starts, lengths, values = starts[keep], lengths[keep], values[keep]
    rows = starts // w + int(window.row_off)
    cols = starts % w + int(window.col_off)
    return rows, cols, lengths, values


def _split_at(cols, lengths, edges):
    """Split runs at tile column edges; returns (index into input, col, length)."""
    src = np.arange(cols.size)
    for e in edges:
        cut = (cols < e) & (cols + lengths > e)
        if not cut.any():
            continue
        idx = np.flatnonzero(cut)
        right_len = cols[idx] + lengths[idx] - e
        lengths = lengths.copy()
        lengths[idx] = e - cols[idx]
        cols = np.concatenate([cols, np.full(idx.size, e, cols.dtype)])
        lengths = np.concatenate([lengths, right_len])
        src = np.concatenate([src, src[idx]])
    return src, cols, lengths


def build_index(zones: gpd.GeoDataFrame, tiles: TileSet) -> dict[str, np.ndarray]:
    """The index of ``zones`` (``zone_id``, geometry in EPSG:4326) on ``tiles``' lattice."""
    lattice = tiles.lattice
    Z, R, C, L, W = [], [], [], [], []
    for i, geom in enumerate(zones.geometry):
        # each part on its own (a zone cut at the antimeridian has one part at each end
        # of the globe); parts whose windows meet are computed together
        parts = list(getattr(geom, "geoms", [geom]))
        for win, members in _clusters(parts, lattice):
            frac = coverage(members[0], lattice, win)
            for part in members[1:]:
                frac = frac + coverage(part, lattice, win)
            rows, cols, lengths, values = _runs(frac, win)
            Z.append(np.full(rows.size, i, np.int32))
            R.append(rows)
            C.append(cols)
            L.append(lengths)
            W.append(values)
    zone = np.concatenate(Z) if Z else np.zeros(0, np.int32)
    row = np.concatenate(R).astype(np.int32) if R else np.zeros(0, np.int32)
    col = np.concatenate(C).astype(np.int64) if C else np.zeros(0, np.int64)
    length = np.concatenate(L).astype(np.int64) if L else np.zeros(0, np.int64)
    weight = np.concatenate(W).astype(np.float32) if W else np.zeros(0, np.float32)
    src, col, length = _split_at(col, length, tiles.col_edges[1:-1])
    zone, row, weight = zone[src], row[src], weight[src]
    tile = tiles.tile_numbers(row, col).astype(np.int16)
    order = np.lexsort((col, row, tile))
    return {
        "zone_id": np.array([str(z) for z in zones["zone_id"]], dtype=object).astype(str),
        "area_km2": np.array([geodesic_area_km2(g) for g in zones.geometry], dtype=np.float64),
        "zone": zone[order],
        "tile": tile[order],
        "row": row[order],
        "col": col[order].astype(np.int32),
        "length": length[order].astype(np.int32),
        "weight": weight[order],
        "lattice": np.array(
            [lattice.pixel, lattice.west, lattice.north, lattice.rows, lattice.cols]
        ),
    }


def save(index: dict, dest, summary_dest=None) -> None:
    """The index as ``.npz`` (atomically), and a small JSON summary beside it if asked."""
    with atomic_path(dest, suffix=".npz") as tmp, open(tmp, "wb") as f:
        np.savez(f, **index)
    if summary_dest is not None:
        write_json(summary_dest, summary(index))


def load(path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def summary(index: dict) -> dict:
    """Counts that size the jobs reading this index (resources are functions of them)."""
    n = index["zone_id"].size
    per_zone = np.bincount(index["zone"], weights=index["length"], minlength=n)
    return {
        "zones": int(n),
        "entries": int(index["zone"].size),
        "pixels": int(index["length"].sum()),
        "largest_zone_pixels": int(per_zone.max()) if n else 0,
        "zones_without_pixels": int((per_zone == 0).sum()),
    }


def tiles_needed(index: dict, tiles: TileSet) -> list[str]:
    """The tiles holding some pixel of some zone, in the tile set's order."""
    used = set(np.unique(index["tile"]).tolist())
    return [t for k, t in enumerate(tiles.ids) if k in used]


def check_lattice(index: dict, lattice, name: str) -> None:
    from .errors import UserError

    pixel, west, north, rows, cols = index["lattice"]
    if not (
        math.isclose(pixel, lattice.pixel, rel_tol=1e-9)
        and math.isclose(west, lattice.west, abs_tol=1e-9)
        and math.isclose(north, lattice.north, abs_tol=1e-9)
    ):
        raise UserError(
            f'{name} was built for another grid (pixel {pixel * 3600:g}"); delete it and run again.'
        )
