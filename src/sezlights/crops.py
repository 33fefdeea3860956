"""The radiance around each zone, read from a month's files for the report's maps.

Each zone gets a window of its source's lattice: its bounding box padded by a few
pixels or half its size. A map needs a few thousand pixels across at most, so a
window wider than ``max_pixels`` is read decimated: every output pixel is the mean
of a k x k block, accumulated row by row as the files are read. Only observed
pixels count, by the statistics' own rule (``min_cloud_free`` cloud-free
observations, and for Black Marble an accepted quality class): each file is read
twice, its coverage band first (kept as one bit per pixel of the window), then its
radiance. Memory is bounded by the output and those bits, whatever the zone's size
(a 20 x 20 degree zone is 4800 x 4800 pixels at 15"; its map is at most
``max_pixels`` across).
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
from rasterio.windows import Window

from .sources import Source
from .tiffrows import clean_scratch


def unwrapped(geom):
    """A zone cut at the antimeridian (parts at 179.7..180 and -180..-179.8) as one piece:
    its parts west of 0 moved 360 degrees east (to 180..180.2), when that makes it
    narrower; any other zone as it is. Its map is framed and drawn in these longitudes."""
    import shapely
    import shapely.affinity

    minx, _, maxx, _ = geom.bounds
    if maxx - minx <= 180 or not hasattr(geom, "geoms"):
        return geom
    parts = [shapely.affinity.translate(p, xoff=360) if p.bounds[2] <= 0 else p for p in geom.geoms]
    moved = shapely.MultiPolygon([q for p in parts for q in getattr(p, "geoms", [p])])
    return moved if moved.bounds[2] - moved.bounds[0] < maxx - minx else geom


def crop_window(geom, lattice, context_pixels: int = 6) -> Window:
    """The window around a zone (not clipped: on a lattice round the globe, columns past
    its edge wrap round to its other end, see :func:`read_crops`; elsewhere pixels beyond
    the lattice stay empty).

    A zone cut at the antimeridian is framed whole, across it (:func:`unwrapped`); one
    whose parts are further apart than half the globe, by its largest part.
    """
    geom = unwrapped(geom)
    minx, _, maxx, _ = geom.bounds
    if maxx - minx > 180 and hasattr(geom, "geoms"):
        geom = max(geom.geoms, key=lambda g: g.area)
    minx, miny, maxx, maxy = geom.bounds
    pad = max(context_pixels * lattice.pixel, 0.5 * max(maxx - minx, maxy - miny))
    return lattice.window_for_bounds((minx - pad, miny - pad, maxx + pad, maxy + pad), clip=False)


def read_crops(
    zones: gpd.GeoDataFrame,
    granules: list,
    source: Source,
    files: str | Path | None = None,
    session=None,
    scratch: str | Path | None = None,
    max_pixels: int = 1000,
    min_cloud_free: float = 1,
):
    """Per zone: (radiance array, (left, bottom, right, top)), decimated to at most
    ``max_pixels`` across; NaN where nothing was observed or no granule covers it.
    ``granules`` are the month's (of one series), from ``files`` or read by window."""
    lattice = source.tiles.lattice
    wins = [crop_window(g, lattice) for g in zones.geometry]
    # a lattice round the whole globe: a window past its east or west edge reads the
    # columns at its other end (a zone across the antimeridian has pixels on both sides)
    wraps = abs(lattice.cols * lattice.pixel - 360) < 1e-9
    offsets = (0, -lattice.cols, lattice.cols) if wraps else (0,)
    steps = [max(1, math.ceil(max(w.width, w.height) / max_pixels)) for w in wins]
    shapes = [
        (math.ceil(w.height / k), math.ceil(w.width / k)) for w, k in zip(wins, steps, strict=True)
    ]
    sums = [np.zeros(s) for s in shapes]
    counts = [np.zeros(s) for s in shapes]
    if scratch is not None:
        Path(scratch).mkdir(parents=True, exist_ok=True)
        clean_scratch(scratch)
    for granule in granules:
        # first pass: which pixels were observed (packed bits, one row per window row)
        observed = {}
        with source.open(granule, files, session, ("coverage",), scratch) as bands:
            for band in bands:
                jobs = _jobs(band.window, wins, offsets)
                for key, r0, r1, c0, c1 in jobs:
                    observed[key] = (r0, c0, np.zeros((r1 - r0, -(-(c1 - c0) // 8)), np.uint8))
                for key, i, line in band.regions(jobs):
                    observed[key][2][i] = np.packbits(np.asarray(line) >= min_cloud_free)
        with source.open(granule, files, session, ("radiance",), scratch) as bands:
            for band in bands:
                jobs = _jobs(band.window, wins, offsets)
                for key, i, line in band.regions(jobs):
                    z, offset = key
                    r0, c0, bits = observed[key]
                    w, k = wins[z], steps[z]
                    vals = np.asarray(line, dtype=np.float64)
                    cols = (np.arange(c0, c0 + vals.size) + offset - int(w.col_off)) // k
                    seen = np.unpackbits(bits[i], count=vals.size).astype(bool)
                    ok = np.isfinite(vals) & seen
                    out_row = (r0 + i - int(w.row_off)) // k
                    np.add.at(sums[z][out_row], cols[ok], vals[ok])
                    np.add.at(counts[z][out_row], cols[ok], 1)
    out = []
    for w, k, s, c in zip(wins, steps, sums, counts, strict=True):
        with np.errstate(invalid="ignore"):
            arr = s / c
        left, _, _, top = lattice.window_bounds(w)
        h, wd = arr.shape
        out.append((arr, (left, top - h * k * lattice.pixel, left + wd * k * lattice.pixel, top)))
    return out


def _jobs(window: Window, wins: list[Window], offsets=(0,)) -> list[tuple]:
    """((zone, offset), r0, r1, c0, c1): each zone window's overlap with a band's window,
    in lattice rows and columns; lattice column ``c`` is the zone window's column
    ``c + offset`` (``offset`` a whole lattice's width when the window wraps round)."""
    t_r0, t_c0 = int(window.row_off), int(window.col_off)
    t_r1, t_c1 = t_r0 + int(window.height), t_c0 + int(window.width)
    jobs = []
    for z, w in enumerate(wins):
        r0, r1 = max(t_r0, int(w.row_off)), min(t_r1, int(w.row_off + w.height))
        for offset in offsets:
            c0 = max(t_c0, int(w.col_off) - offset)
            c1 = min(t_c1, int(w.col_off + w.width) - offset)
            if r0 < r1 and c0 < c1:
                jobs.append(((z, offset), r0, r1, c0, c1))
    return jobs
