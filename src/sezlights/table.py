"""The statistics tables: their columns, and how they are written, read and combined.

One CSV per source and month (``results/stats/{source}/{YYYY-MM}.csv``) has
:data:`STATS_COLUMNS`: each row names its area with the zone table's columns
(:data:`ZONE_COLUMNS`, :mod:`sezlights.areas`: zone or ring, parent, ring distances, shape,
area). The combined time series (``results/zonal_stats.csv``) adds the zones file's
kept attributes and the timing columns (:func:`columns`, :data:`COLUMNS` without kept
attributes), each ring taking its zone's. Numbers
are written without float noise: radiance statistics with the 7 significant digits
float32 carries, pixel weights with 7 significant digits too but never in exponent
notation nor rounded to less than a whole pixel (an all_touched count of 23,049,637
pixels stays that number), shares to 4 decimals, areas to 3.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import atomic_path

# an area's facts (the zone table, results/zones/areas.csv: :mod:`sezlights.areas`)
ZONE_COLUMNS = [
    "zone_id",
    "zone_kind",
    "parent_id",
    "ring_inner_km",
    "ring_outer_km",
    "shape",
    "area_km2",
]
STATS_COLUMNS = [
    "zone_id",
    "month",
    "source",
    "satellite",
    "product",
    "zone_kind",
    "parent_id",
    "ring_inner_km",
    "ring_outer_km",
    "shape",
    "area_km2",
    "pixels",
    "pixels_observed",
    "observed_share",
    "sum",
    "mean",
    "median",
    "min",
    "max",
    "std",
    "cf_cvg_mean",
    "cf_cvg_min",
    "quality",
]
TIMING = ["start_month", "months_since_start"]
COLUMNS = STATS_COLUMNS + TIMING  # the combined table's, with no kept attribute
RADIANCE = ["sum", "mean", "median", "min", "max", "std"]
QUALITY = ("ok", "partly_observed", "no_cloud_free", "outside_coverage")
TEXT = {
    "zone_id": str,
    "month": str,
    "source": str,
    "satellite": str,
    "product": str,
    "zone_kind": str,
    "parent_id": str,
    "shape": str,
    "quality": str,
    "start_month": str,
}
KEY = ["zone_id", "month", "source", "satellite"]  # one row each
# each zone followed by its rings, nearest first (a zone's ring distances are empty)
SORT = ["parent_id", "ring_inner_km", "zone_id", "month", "source", "satellite"]

# decimals ("f"), significant digits ("g") or significant digits in positional
# notation ("p") each numeric column is written with
_FORMAT = {
    "ring_inner_km": ("g", 15),
    "ring_outer_km": ("g", 15),
    "area_km2": ("f", 3),
    "pixels": ("p", 7),
    "pixels_observed": ("p", 7),
    "observed_share": ("f", 4),
    **{c: ("g", 7) for c in RADIANCE},
    "cf_cvg_mean": ("g", 7),
    "cf_cvg_min": ("g", 7),
    "months_since_start": ("f", 0),
}


def columns(kept=()) -> list[str]:
    """The combined table's columns: :data:`STATS_COLUMNS`, the zones file's kept
    attributes (``zones.keep_fields``), then :data:`TIMING`."""
    return STATS_COLUMNS + [c for c in kept if c not in COLUMNS] + TIMING


def zone_facts(zones: pd.DataFrame) -> pd.DataFrame:
    """:data:`ZONE_COLUMNS` of a zone table, in its order; a table of zones alone
    (``zone_id`` and ``area_km2``) gets the zones' values (``zone``, its own id as
    parent, no ring distances, ``polygon``)."""
    t = pd.DataFrame({"zone_id": zones["zone_id"].astype(str).to_numpy()})
    t["zone_kind"] = zones["zone_kind"].to_numpy() if "zone_kind" in zones else "zone"
    t["parent_id"] = (
        zones["parent_id"].astype(str).to_numpy() if "parent_id" in zones else t["zone_id"]
    )
    for col in ("ring_inner_km", "ring_outer_km"):
        t[col] = zones[col].to_numpy(dtype=np.float64) if col in zones else np.nan
    t["shape"] = zones["shape"].to_numpy() if "shape" in zones else "polygon"
    t["area_km2"] = zones["area_km2"].to_numpy(dtype=np.float64)
    return t[ZONE_COLUMNS]


def zones_only(df: pd.DataFrame) -> pd.DataFrame:
    """The rows of zones (no ring)."""
    if "zone_kind" not in df:
        return df
    return df[df["zone_kind"].astype(str) == "zone"]


def sort(df: pd.DataFrame) -> pd.DataFrame:
    """Rows in the table's order: each zone, then its rings nearest first; then month,
    source and satellite."""
    return df.sort_values(SORT, kind="stable", na_position="first").reset_index(drop=True)


def _fmt(values: pd.Series, kind: str, digits: int) -> pd.Series:
    arr = values.to_numpy(dtype=np.float64)
    out = np.empty(arr.size, dtype=object)
    finite = np.isfinite(arr)
    if kind == "f":
        out[finite] = [f"{v:.{digits}f}" for v in np.round(arr[finite], digits) + 0.0]
    elif kind == "p":  # positional: `digits` significant digits, every integer digit kept
        out[finite] = [
            f"{v:.0f}"
            if abs(v) >= 10**digits
            else np.format_float_positional(
                v, precision=digits, unique=False, fractional=False, trim="-"
            )
            for v in arr[finite] + 0.0
        ]
    else:
        out[finite] = [f"{v:.{digits}g}" for v in arr[finite] + 0.0]
    out[~finite] = ""
    return pd.Series(out, index=values.index)


def write(df: pd.DataFrame, dest: str | Path, columns: list[str] = STATS_COLUMNS) -> None:
    """Write a statistics table atomically, sorted, with its columns formatted (a kept
    attribute as the zones file has it)."""
    df = sort(df[columns])
    text = df.astype(object).copy()
    for col, (kind, digits) in _FORMAT.items():
        if col in text:
            text[col] = _fmt(df[col], kind, digits)
    with atomic_path(dest, suffix=".csv") as tmp:
        text.to_csv(tmp, index=False, na_rep="")


def read(path: str | Path) -> pd.DataFrame:
    """A statistics table, ids and labels as text exactly as written (an id "NA" stays "NA")."""
    df = pd.read_csv(path, dtype=TEXT, keep_default_na=False, na_values={})
    for col in _FORMAT:
        if col not in TEXT and col in df:
            df[col] = pd.to_numeric(df[col].replace("", np.nan))
    return df


def combine(paths: list[str | Path]) -> pd.DataFrame:
    """All per-month tables in one, sorted by zone, month and source."""
    frames = [read(p)[STATS_COLUMNS] for p in paths]
    if not frames:
        return pd.DataFrame(columns=STATS_COLUMNS)
    return sort(pd.concat(frames, ignore_index=True))


def write_csv(df: pd.DataFrame, dest: str | Path) -> None:
    """Any other table (provenance, zones shown), atomically."""
    with atomic_path(dest, suffix=".csv") as tmp:
        df.to_csv(tmp, index=False)
