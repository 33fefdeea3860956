"""Per-zone statistics of one month: gather the indexed pixels, then reduce per zone.

:func:`gather` reads, from each of the month's granules (a downloaded file, or a remote
one read by window), only what some zone touches: the rows of a streamed band, the
blocks of a random-access one; and copies each run of the index out of them.
:func:`reduce` turns one series' gathered values into the table's statistics:

- weights: the pixel's coverage fraction (``coverage``, the default) or 1 for
  every pixel the zone overlaps (``all_touched``);
- a pixel is *observed* when its file was read, its radiance is a value (not fill,
  not a rejected quality class) and its cloud-free count is at least
  ``min_cloud_free``; radiance statistics use observed pixels only;
- ``pixels`` = Σw over the zone's pixels, ``pixels_observed`` = Σw over observed
  ones; ``sum`` = Σw·r, ``mean`` = Σw·r / Σw, ``std`` the weighted population
  standard deviation, ``median`` the weighted median (:func:`weighted_median`: where
  the cumulative weight reaches half; with equal weights, numpy's median), ``min``/``max``
  over observed pixels with weight > 0; ``cf_cvg_mean``/``cf_cvg_min`` over all
  covered pixels.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from rasterio.windows import Window

from . import table
from .sources import KINDS, Source
from .tiffrows import clean_scratch

WEIGHTINGS = ("coverage", "all_touched")


def pixel_offsets(index: dict) -> np.ndarray:
    """Start of each index entry in the gathered arrays (entries are laid end to end)."""
    return np.concatenate([[0], np.cumsum(index["length"], dtype=np.int64)])


def gather(
    index: dict,
    granules: list,
    source: Source,
    files: str | Path | None = None,
    session=None,
    scratch: str | Path | None = None,
    kinds=KINDS,
    threads: int = 1,
) -> dict[str, np.ndarray]:
    """Every indexed pixel's value per band kind (float32, NaN where no granule covers
    it), and ``covered``: whether a granule of the month holds the pixel.

    Each granule (a tile, or a global file) is opened once through its source
    (:meth:`~sezlights.sources.Source.open`: from the month's downloaded ``files``, or
    read by window through ``session``) and fills the pixels inside its window. Streamed
    bands are read row by row (only the rows some zone touches); random-access bands
    block by block (only the blocks holding some zone's pixels). With ``threads`` > 1 that
    many granules are read at once (ISA-L, HDF5 and GDAL release the GIL).
    """
    off = pixel_offsets(index)
    total = int(off[-1])
    out = {k: np.full(total, np.nan, dtype=np.float32) for k in kinds}
    out["covered"] = np.zeros(total, dtype=bool)
    if scratch is not None:
        Path(scratch).mkdir(parents=True, exist_ok=True)
        clean_scratch(scratch)
    rows, cols, lengths = index["row"], index["col"], index["length"]

    def read(granule):
        with source.open(granule, files, session, kinds, scratch) as bands:
            for band in bands:
                sel = _inside(band.window, rows, cols, lengths)
                if sel.size == 0:
                    continue
                sel = sel[np.lexsort((cols[sel], rows[sel]))]  # by row, then column
                pix = _concatenated_ranges(off[sel], lengths[sel])
                out["covered"][pix] = True
                if band.read is not None:
                    _fill_blocks(out[band.kind], band, pix, sel, rows, cols, lengths)
                else:
                    _fill_rows(out[band.kind], band, pix, sel, rows, cols, lengths)

    if threads > 1 and len(granules) > 1:
        pool = ThreadPoolExecutor(max_workers=threads)
        interrupted = False
        try:
            list(pool.map(read, granules))  # list(): re-raise the first error
        except KeyboardInterrupt:  # Ctrl-C: no wait for the files being read
            interrupted = True
            raise
        finally:
            pool.shutdown(wait=not interrupted, cancel_futures=interrupted)
    else:
        for g in granules:
            read(g)
    return out


def _inside(window, rows, cols, lengths) -> np.ndarray:
    """Index entries inside ``window``; an entry across its edge is a bug (the index is
    split at every tile edge of its grid)."""
    r0, c0 = int(window.row_off), int(window.col_off)
    r1, c1 = r0 + int(window.height), c0 + int(window.width)
    rows_in = (rows >= r0) & (rows < r1)
    inside = rows_in & (cols >= c0) & (cols + lengths <= c1)
    across = rows_in & ~inside & (cols < c1) & (cols + lengths > c0)
    if across.any():
        raise RuntimeError(f"{int(across.sum())} index runs cross the edge of window {window}")
    return np.flatnonzero(inside)


def _fill_rows(dest, band, pix, sel, rows, cols, lengths) -> None:
    """A streamed band: each needed row once, in order, its pixels copied out."""
    r0, c0 = int(band.window.row_off), int(band.window.col_off)
    colidx = _concatenated_ranges(cols[sel], lengths[sel]) - c0
    per_entry = lengths[sel]
    ends = np.cumsum(per_entry)
    first_of_row = np.flatnonzero(np.r_[True, rows[sel][1:] != rows[sel][:-1]])
    uniq = rows[sel][first_of_row] - r0
    start = np.r_[0, ends][first_of_row]
    stop = np.r_[start[1:], ends[-1]]
    k = 0
    for row, line in band.rows(uniq):
        while uniq[k] != row:  # rows come back in the order asked
            k += 1
        s, e = start[k], stop[k]
        dest[pix[s:e]] = line[colidx[s:e]]
        k += 1


def _fill_blocks(dest, band, pix, sel, rows, cols, lengths) -> None:
    """A random-access band: the blocks holding needed pixels, runs of neighbouring
    blocks in a row of blocks read as one window."""
    w = band.window
    height, width = int(w.height), int(w.width)
    bh, bw = band.block_shape
    r = np.repeat(rows[sel], lengths[sel]) - int(w.row_off)
    c = _concatenated_ranges(cols[sel], lengths[sel]) - int(w.col_off)
    nbx = -(-width // bw)
    block = (r // bh) * nbx + c // bw
    order = np.argsort(block, kind="stable")
    sorted_blocks = block[order]
    needed = np.unique(sorted_blocks)
    brow, bcol = needed // nbx, needed % nbx
    # runs of consecutive blocks in one row of blocks: one read each
    breaks = np.flatnonzero((np.diff(brow) != 0) | (np.diff(bcol) != 1)) + 1
    for run in np.split(np.arange(needed.size), breaks):
        y0, x0 = int(brow[run[0]]) * bh, int(bcol[run[0]]) * bw
        y1, x1 = min(height, y0 + bh), min(width, int(bcol[run[-1]] + 1) * bw)
        arr = band.read(Window(x0, y0, x1 - x0, y1 - y0))
        lo = np.searchsorted(sorted_blocks, needed[run[0]], side="left")
        hi = np.searchsorted(sorted_blocks, needed[run[-1]], side="right")
        take = order[lo:hi]
        dest[pix[take]] = arr[r[take] - y0, c[take] - x0]


def _concatenated_ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """np.concatenate([arange(s, s + n) for s, n in zip(starts, lengths)]), vectorised."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    steps = np.ones(total, dtype=np.int64)
    ends = np.cumsum(lengths)[:-1]
    steps[0] = starts[0]
    steps[ends] = starts[1:] - (starts[:-1] + lengths[:-1] - 1)
    return np.cumsum(steps)


def reduce(
    index: dict,
    values: dict[str, np.ndarray],
    zones: pd.DataFrame,
    month: str,
    source: str,
    satellite: str,
    product: str,
    weighting: str = "coverage",
    min_cloud_free: float = 1,
) -> pd.DataFrame:
    """One series' statistics of the month per zone: the zone table's facts (``zones``,
    one row per zone number of the index) joined with the statistics (the table's
    columns, see :mod:`sezlights.table`)."""
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}")
    n = int(index["zones"])
    if len(zones) != n:
        raise ValueError(f"the index has {n} zones, the zone table {len(zones)}")
    lengths = index["length"]
    zone = np.repeat(index["zone"], lengths)
    frac = np.repeat(index["weight"], lengths).astype(np.float64)
    w = frac if weighting == "coverage" else (frac > 0).astype(np.float64)
    rad = values["radiance"].astype(np.float64)
    cvg = values["coverage"].astype(np.float64)
    covered = values["covered"]
    observed = covered & np.isfinite(rad) & (np.nan_to_num(cvg, nan=0.0) >= min_cloud_free)

    pixels = np.bincount(zone, weights=w, minlength=n)
    n_covered = np.bincount(zone, weights=covered, minlength=n)
    zc, wc, cc = zone[covered], w[covered], np.nan_to_num(cvg[covered], nan=0.0)
    w_covered = np.bincount(zc, weights=wc, minlength=n)
    zo, wo, vo = zone[observed], w[observed], rad[observed]
    w_obs = np.bincount(zo, weights=wo, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.bincount(zo, weights=wo * vo, minlength=n)
        mean = total / w_obs
        dev = vo - mean[zo]
        std = np.sqrt(np.bincount(zo, weights=wo * dev * dev, minlength=n) / w_obs)
        cvg_mean = np.bincount(zc, weights=wc * cc, minlength=n) / w_covered
        share = w_obs / pixels
    positive = wo > 0
    vmin = _per_zone(np.fmin, zo[positive], vo[positive], n)
    vmax = _per_zone(np.fmax, zo[positive], vo[positive], n)
    cmin = _per_zone(np.fmin, zc[wc > 0], cc[wc > 0], n)
    median = weighted_median(zo[positive], vo[positive], wo[positive], n)
    # a zone of one value has no spread: what the sums leave (~1e-16 of it) is rounding;
    # float32 values that differ at all differ by more than 1e-8 of their size
    with np.errstate(invalid="ignore"):
        std = np.where(std <= 1e-9 * np.fmax(np.abs(vmin), np.abs(vmax)), 0.0, std)

    none_covered = n_covered == 0
    none_observed = w_obs <= 0
    quality = np.select(
        # partly observed as the table shows it: a share written as 1.0000 is "ok"
        [none_covered, none_observed, np.round(share, 4) < 1],
        ["outside_coverage", "no_cloud_free", "partly_observed"],
        "ok",
    )
    facts = table.zone_facts(zones)  # the zone's columns, each row's from the zone table
    df = pd.DataFrame(
        {
            "zone_id": facts["zone_id"].to_numpy(),
            "month": month,
            "source": source,
            "satellite": satellite,
            "product": product,
            **{c: facts[c].to_numpy() for c in table.ZONE_COLUMNS[1:]},
            "pixels": pixels,
            "pixels_observed": w_obs,
            "observed_share": np.where(pixels > 0, share, np.nan),
        }
    )
    for col, arr in (
        ("sum", total),
        ("mean", mean),
        ("median", median),
        ("min", vmin),
        ("max", vmax),
        ("std", std),
    ):
        df[col] = np.where(none_observed, np.nan, arr)
    df["cf_cvg_mean"] = np.where(none_covered, np.nan, cvg_mean)
    df["cf_cvg_min"] = np.where(none_covered, np.nan, cmin)
    df["quality"] = quality
    return table.sort(df[table.STATS_COLUMNS])


def _per_zone(ufunc, z: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    if z.size:
        ufunc.at(out, z, v)
    return out


def weighted_median(z: np.ndarray, v: np.ndarray, w: np.ndarray, n: int) -> np.ndarray:
    """The weighted median per zone: the value at which the cumulative weight of the
    zone's values, sorted ascending, reaches half the zone's weight.

    Where it reaches exactly half at one value (up to rounding), the median is the
    midpoint of that value and the next, so with equal weights it is numpy's median.
    It depends on the values and weights only, not on the order of the pixels, and
    a pixel of tiny weight moves it only if it crosses the half-way point.
    """
    out = np.full(n, np.nan)
    if z.size == 0:
        return out
    order = np.lexsort((v, z))
    z, v, w = z[order], v[order], w[order].astype(np.float64)
    starts = np.flatnonzero(np.r_[True, z[1:] != z[:-1]])
    counts = np.diff(np.r_[starts, z.size])
    csum = np.cumsum(w)
    base = np.r_[0.0, csum[starts[1:] - 1]]
    total = np.add.reduceat(w, starts)
    half = 0.5 * total
    tol = 1e-9 * total
    cum = csum - np.repeat(base, counts)  # within each zone
    # the first value whose cumulative weight reaches half (up to rounding)
    reached = cum >= np.repeat(half - tol, counts)
    key = np.repeat(np.arange(starts.size), counts)
    first = np.full(starts.size, -1, dtype=np.int64)
    idx = np.flatnonzero(reached)
    uniq, at = np.unique(key[idx], return_index=True)
    first[uniq] = idx[at]
    last = starts + counts - 1
    first = np.where(first < 0, last, first)  # rounding: the largest value
    result = v[first].astype(np.float64)
    exact = (np.abs(cum[first] - half) <= tol) & (first < last)
    nxt = np.minimum(first + 1, v.size - 1)
    result = np.where(exact, 0.5 * (v[first] + v[nxt]), result)
    out[z[starts]] = result
    return out
