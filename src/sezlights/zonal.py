"""Per-zone statistics of one month: gather the indexed pixels, then reduce per zone.

:func:`gather` reads, from each of the month's files, only the rows some zone
touches (each file once, front to back), and copies each run of the index out of
its row. :func:`reduce` turns the gathered values into the table's statistics:

- weights: the pixel's coverage fraction (``coverage``, the default) or 1 for
  every pixel the zone overlaps (``all_touched``);
- a pixel is *observed* when its file was read, its radiance is a value (not fill,
  not a rejected quality class) and its cloud-free count is at least
  ``min_cloud_free``; radiance statistics use observed pixels only;
- ``pixels`` = Σw over the zone's pixels, ``pixels_observed`` = Σw over observed
  ones; ``sum`` = Σw·r, ``mean`` = Σw·r / Σw, ``std`` the weighted population
  standard deviation, ``median`` the weighted median (the weighted type-7 quantile,
  pixel by pixel: with equal weights, numpy's median), ``min``/``max``
  over observed pixels with weight > 0; ``cf_cvg_mean``/``cf_cvg_min`` over all
  covered pixels.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from . import table
from .sources import KINDS, Source
from .tiffrows import clean_scratch

WEIGHTINGS = ("coverage", "all_touched")


def pixel_offsets(index: dict) -> np.ndarray:
    """Start of each index entry in the gathered arrays (entries are laid end to end)."""
    return np.concatenate([[0], np.cumsum(index["length"], dtype=np.int64)])


def gather(
    index: dict,
    files: list[str | Path],
    source: Source,
    scratch: str | Path | None = None,
    kinds=KINDS,
    threads: int = 1,
) -> dict[str, np.ndarray]:
    """Every indexed pixel's value per band kind (float32, NaN where no file covers
    it), and ``covered``: whether a file of the month holds the pixel.

    Each file is read once; with ``threads`` > 1 that many files are read at once
    (ISA-L and HDF5 decompress without holding the GIL), each filling its own
    tile's pixels.
    """
    off = pixel_offsets(index)
    total = int(off[-1])
    out = {k: np.full(total, np.nan, dtype=np.float32) for k in kinds}
    out["covered"] = np.zeros(total, dtype=bool)
    if scratch is not None:
        Path(scratch).mkdir(parents=True, exist_ok=True)
        clean_scratch(scratch)
    tile_ids = source.tiles.ids
    tile_of_entry = index["tile"]

    def read(path):
        t = tile_ids.index(source.tile_of(Path(path).name))
        a, b = np.searchsorted(tile_of_entry, [t, t + 1])
        if a == b:
            return
        rows, cols, lengths = index["row"][a:b], index["col"][a:b], index["length"][a:b]
        base = int(off[a])
        out["covered"][base : int(off[b])] = True
        # per pixel: its column; per row: the range of its pixels (entries are sorted by row)
        colidx = _concatenated_ranges(cols, lengths)
        row_starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        uniq_rows = rows[row_starts]
        pix_start = off[a + row_starts] - base
        pix_end = np.r_[pix_start[1:], int(off[b]) - base]
        for band in source.bands(Path(path), kinds, scratch):
            dest = out[band.kind][base : int(off[b])]
            local = uniq_rows - int(band.window.row_off)
            cshift = int(band.window.col_off)
            k = 0
            for row, line in band.rows(local):
                while local[k] != row:  # rows come back in the order asked
                    k += 1
                s, e = pix_start[k], pix_end[k]
                dest[s:e] = line[colidx[s:e] - cshift]
                k += 1

    if threads > 1 and len(files) > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(read, files))  # list(): re-raise the first error
    else:
        for f in files:
            read(f)
    return out


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
    month: str,
    source: str,
    satellite: str,
    weighting: str = "coverage",
    min_cloud_free: float = 1,
) -> pd.DataFrame:
    """The month's statistics per zone (the table's columns, see :mod:`sezlights.table`)."""
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}")
    ids = index["zone_id"]
    n = ids.size
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

    none_covered = n_covered == 0
    none_observed = w_obs <= 0
    quality = np.select(
        [none_covered, none_observed, share < 1 - 1e-9],
        ["outside_coverage", "no_cloud_free", "partly_observed"],
        "ok",
    )
    df = pd.DataFrame(
        {
            "zone_id": ids.astype(str),
            "month": month,
            "source": source,
            "satellite": satellite,
            "area_km2": index["area_km2"],
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
    return df[table.COLUMNS].sort_values(["zone_id"], kind="stable").reset_index(drop=True)


def _per_zone(ufunc, z: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    if z.size:
        ufunc.at(out, z, v)
    return out


def weighted_median(z: np.ndarray, v: np.ndarray, w: np.ndarray, n: int) -> np.ndarray:
    """The weighted median per zone: the weighted type-7 quantile at q = 0.5.

    Within a zone, its m values sorted ascending with weights w_i (i from 0) get
    s_i = i·w_i + (m-1)·Σ_{j<i} w_j; with S = (m-1)·Σw, the median is the value at
    s = S/2, linearly interpolated between the neighbouring values. This is
    exactextract's formula (weighted_quantiles.cpp) applied pixel by pixel (exactextract
    first merges equal values into one element); with equal weights it is numpy's
    median.
    """
    out = np.full(n, np.nan)
    if z.size == 0:
        return out
    order = np.lexsort((v, z))
    z, v, w = z[order], v[order], w[order]
    starts = np.flatnonzero(np.r_[True, z[1:] != z[:-1]])
    counts = np.diff(np.r_[starts, z.size])
    m = np.repeat(counts, counts).astype(np.float64)
    i = np.arange(z.size) - np.repeat(starts, counts)
    csum = np.cumsum(w)
    before = csum - w - np.repeat(np.r_[0.0, csum[starts[1:] - 1]], counts)
    s = i * w + (m - 1) * before
    zone_total = np.add.reduceat(w, starts)
    target = 0.5 * zone_total * (counts - 1)
    # within each zone, the first element with s > target ("right"), as std::upper_bound
    key = np.repeat(np.arange(starts.size), counts)
    above = s > np.repeat(target, counts)
    first_above = np.full(starts.size, -1, dtype=np.int64)
    idx = np.flatnonzero(above)
    if idx.size:
        grp = key[idx]
        uniq, first = np.unique(grp, return_index=True)
        first_above[uniq] = idx[first]
    last = starts + counts - 1
    result = v[last].astype(np.float64)  # no element above: the largest value
    has = first_above >= 0
    r = first_above[has]
    left = r - 1
    t = target[has]
    result[has] = v[left] + (t - s[left]) * (v[r] - v[left]) / (s[r] - s[left])
    out[z[starts]] = result
    return out
