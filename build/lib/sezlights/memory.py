"""How much memory each heavy job declares (``mem_mb``), from its inputs.

The workflow's resource functions (``workflow/rules/common.smk``) call these, so a
profile can schedule jobs by what they will really use: a run over a 20-degree zone
asks for gigabytes, one over a few SEZs for the minimum. The per-pixel costs are
measured by ``bench/benchmark.py`` (the README's Performance section gives the
measured peaks next to what these declare).

Values are whole GiB and at least 2 GiB per thread: what AWS Batch accepts as it is
(its executor plugin replaces other values by the smallest valid one for the job's
vCPUs, even when that is less than asked). A retried job asks for more.
"""

from __future__ import annotations

import math

BASE_MB = 400  # a Python job with numpy, GDAL and pandas loaded
# the largest zone's window (two float64 arrays of it, and its runs)
INDEX_MB_PER_WINDOW_PIXEL = 40e-6
INDEX_MB_PER_ZONE = 2e-3
# gathered values, weights, zone numbers, the sort for the median: 180e-6 measured
STATS_MB_PER_PIXEL = 200e-6
MAP_MB_PER_CELL = 24e-6  # a map's decimated sums and counts, and its figure
TABLE_MB_PER_CSV_MB = 12  # a table read into pandas, with its formatted copy


def whole_gib(estimate_mb: float, attempt: int = 1, threads: int = 1) -> int:
    mb = estimate_mb * attempt
    return max(2048 * threads, 1024 * math.ceil(mb / 1024))


def index_mb(grid: dict, attempt: int = 1) -> int:
    """``grid``: the zones summary's entry for the source (largest_window_pixels, zones)."""
    est = (
        BASE_MB
        + INDEX_MB_PER_WINDOW_PIXEL * grid["largest_window_pixels"]
        + INDEX_MB_PER_ZONE * grid["zones"]
    )
    return whole_gib(est, attempt)


def stats_mb(pixels: int, attempt: int = 1, threads: int = 2) -> int:
    """``pixels``: how many pixels the index holds (its summary's ``pixels``)."""
    return whole_gib(BASE_MB + STATS_MB_PER_PIXEL * pixels, attempt, threads)


def maps_mb(zones_shown: int, max_pixels: int, attempt: int = 1) -> int:
    return whole_gib(BASE_MB + 200 + zones_shown * max_pixels**2 * MAP_MB_PER_CELL, attempt)


def table_mb(csv_mb: float, attempt: int = 1) -> int:
    return whole_gib(BASE_MB + 100 + TABLE_MB_PER_CSV_MB * csv_mb, attempt)
