"""The pixel index: which pixels of a grid each zone covers, and how much.

Worked out once per zones file and grid (``resources/index/{grid}.npz``: the products
on one lattice share it), it holds pixels only: for every zone, by its number in the
zone table (``zone``: the row of ``resources/zones.gpkg``), the exact fraction of each
pixel's area inside the zone, on the lat/lon grid (planar, in degrees: what
exactextract computes by default).
The fractions come from the zone's outline alone (:func:`coverage`: each edge
cut at the pixel lines it crosses, exactextract's traversal), so the cost grows
with the outline's length in pixels: a 20 x 20 degree zone (23 million pixels,
a ragged outline of some 20,000 pixel crossings) costs about as much as a few
hundred SEZs. Parts beyond the lattice are clipped off, or, on a lattice all the
way round the globe, wrapped to its other end (:func:`on_lattice`).

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
from rasterio.windows import Window

from .grid import TileSet

MIN_FRACTION = 1e-9  # slivers below this (floating-point noise on shared edges) are dropped


def coverage(part, lattice, window: Window) -> np.ndarray:
    """Fraction (0..1, float64) of each pixel of ``window`` that lies inside ``part``.

    Exact, from the outline alone (no rasterisation, no per-pixel intersections): the
    area of a polygon inside a pixel is, by Green's theorem, the sum over its edges of
    -∫ (clamp(y, bottom, top) - bottom) dx (exteriors counter-clockwise, holes
    clockwise). Each edge is cut where it crosses a pixel edge; a piece adds
    -dx·(its mean height above the bottom of its own pixel) to that pixel and -dx (the
    full height) to every pixel below it in its column, which a cumulative sum down
    each column applies. This is the edge traversal exactextract uses; the cost grows
    with the outline's length in pixels, not with the zone's area. ``part`` must lie
    inside ``window`` (clip it first).
    """
    h, w = int(window.height), int(window.width)
    p = lattice.pixel
    left = lattice.west + window.col_off * p
    bottom = lattice.north - (window.row_off + h) * p
    polys = shapely.get_parts(shapely.orient_polygons(part, exterior_cw=False))
    xy, ring = shapely.get_coordinates(shapely.get_rings(polys), return_index=True)
    # in pixels: u to the right of the window's left edge, v above its bottom edge
    u, v = (xy[:, 0] - left) / p, (xy[:, 1] - bottom) / p
    edge = ring[1:] == ring[:-1]
    u0, v0, u1, v1 = u[:-1][edge], v[:-1][edge], u[1:][edge], v[1:][edge]
    n = u0.size
    # cut each edge where it crosses a pixel column or row line (t along the edge)
    cu, ku = _crossings(u0, u1)
    cv, kv = _crossings(v0, v1)
    with np.errstate(divide="ignore", invalid="ignore"):
        tu = (ku - u0[cu]) / (u1 - u0)[cu]
        tv = (kv - v0[cv]) / (v1 - v0)[cv]
    seg = np.concatenate([np.arange(n), np.arange(n), cu, cv])
    t = np.concatenate([np.zeros(n), np.ones(n), tu, tv])
    order = np.lexsort((t, seg))
    seg, t = seg[order], t[order]
    piece = seg[1:] == seg[:-1]
    s, ta, tb = seg[:-1][piece], t[:-1][piece], t[1:][piece]
    du, dv = (u1 - u0)[s], (v1 - v0)[s]
    ua, ub = u0[s] + ta * du, u0[s] + tb * du
    vmid = v0[s] + 0.5 * (ta + tb) * dv
    dx = ub - ua
    moves = dx != 0  # vertical pieces add nothing
    ua, ub, vmid, dx = ua[moves], ub[moves], vmid[moves], dx[moves]
    col = np.clip(np.floor(0.5 * (ua + ub)).astype(np.int64), 0, w - 1)
    cell = np.floor(vmid)  # the bottom of the piece's pixel, in pixels above the window's
    row = (h - 1 - cell).astype(np.int64)  # from the top
    below = np.clip(row + 1, 0, h) * w + col
    frac = np.bincount(below, weights=-dx, minlength=(h + 1) * w).reshape(h + 1, w)
    np.cumsum(frac, axis=0, out=frac)
    frac = frac[:h]
    inside = (row >= 0) & (row < h)
    np.add.at(frac.reshape(-1), row[inside] * w + col[inside], (-dx * (vmid - cell))[inside])
    return frac


def _crossings(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For segments from ``a`` to ``b`` (1-D coordinates), every integer strictly
    between the ends: (segment number, integer)."""
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    count = np.maximum(np.ceil(hi) - np.floor(lo) - 1, 0).astype(np.int64)
    seg = np.repeat(np.arange(a.size), count)
    first = np.repeat(np.cumsum(count) - count, count)
    return seg, np.floor(lo)[seg] + 1 + (np.arange(seg.size) - first)


def on_lattice(part, lattice) -> list:
    """The polygons of ``part`` that lie on ``lattice``: clipped to it, and, on a
    lattice all the way round the globe, what lies beyond its east or west edge
    wrapped round to the other end (EOG's lattice runs from half a pixel west of
    -180 to half a pixel west of 180, so the sliver of a zone east of that is in
    column 0)."""
    west, south, east, north = lattice.west, lattice.south, lattice.east, lattice.north
    minx, miny, maxx, maxy = part.bounds
    if west <= minx and maxx <= east and south <= miny and maxy <= north:
        return [part]
    pieces = [shapely.clip_by_rect(part, west, south, east, north)]
    if math.isclose(east - west, 360.0, abs_tol=1e-9):
        for x0, x1, shift in ((east, east + 360.0, -360.0), (west - 360.0, west, 360.0)):
            beyond = shapely.clip_by_rect(part, x0, south, x1, north)
            if not beyond.is_empty:
                pieces.append(shapely.transform(beyond, lambda xy, d=shift: xy + (d, 0.0)))
    return [
        g
        for piece in pieces
        for g in shapely.get_parts(piece)
        if g.geom_type == "Polygon" and not g.is_empty and g.area > 0
    ]


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
        parts = [g for part in getattr(geom, "geoms", [geom]) for g in on_lattice(part, lattice)]
        for win, members in _clusters(parts, lattice):
            frac = coverage(shapely.multipolygons(members), lattice, win)
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
        "zones": np.array(len(zones), dtype=np.int64),
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


def summary(index: dict, tiles: TileSet) -> dict:
    """Counts that size the jobs reading this index (resources are functions of them),
    and the tiles holding some zone's pixels (what a month needs from the server)."""
    n = int(index["zones"])
    per_zone = np.bincount(index["zone"], weights=index["length"], minlength=n)
    return {
        "zones": int(n),
        "entries": int(index["zone"].size),
        "pixels": int(index["length"].sum()),
        "largest_zone_pixels": int(per_zone.max()) if n else 0,
        "zones_without_pixels": int((per_zone == 0).sum()),
        "tiles_needed": tiles_needed(index, tiles),
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
