"""The statistics tables: their columns, and how they are written, read and combined.

One CSV per source and month (``results/stats/{source}/{YYYY-MM}.csv``) and the
combined time series (``results/zonal_stats.csv``) share :data:`COLUMNS`. Numbers
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

STATS_COLUMNS = [
    "zone_id",
    "month",
    "source",
    "satellite",
    "product",
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
COLUMNS = STATS_COLUMNS  # the combined table's
RADIANCE = ["sum", "mean", "median", "min", "max", "std"]
QUALITY = ("ok", "partly_observed", "no_cloud_free", "outside_coverage")
TEXT = {
    "zone_id": str,
    "month": str,
    "source": str,
    "satellite": str,
    "product": str,
    "quality": str,
}
KEY = ["zone_id", "month", "source", "satellite"]  # one row each
SORT = KEY

# decimals ("f"), significant digits ("g") or significant digits in positional
# notation ("p") each numeric column is written with
_FORMAT = {
    "area_km2": ("f", 3),
    "pixels": ("p", 7),
    "pixels_observed": ("p", 7),
    "observed_share": ("f", 4),
    **{c: ("g", 7) for c in RADIANCE},
    "cf_cvg_mean": ("g", 7),
    "cf_cvg_min": ("g", 7),
}


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


def write(df: pd.DataFrame, dest: str | Path) -> None:
    """Write a statistics table atomically, sorted, with its columns formatted."""
    df = df[COLUMNS].sort_values(SORT, kind="stable").reset_index(drop=True)
    text = df.astype(object).copy()
    for col, (kind, digits) in _FORMAT.items():
        text[col] = _fmt(df[col], kind, digits)
    with atomic_path(dest, suffix=".csv") as tmp:
        text.to_csv(tmp, index=False, na_rep="")


def read(path: str | Path) -> pd.DataFrame:
    """A statistics table, ids and labels as text exactly as written (an id "NA" stays "NA")."""
    df = pd.read_csv(path, dtype=TEXT, keep_default_na=False, na_values={})
    for col in COLUMNS:
        if col not in TEXT and col in df:
            df[col] = pd.to_numeric(df[col].replace("", np.nan))
    return df


def combine(paths: list[str | Path]) -> pd.DataFrame:
    """All per-month tables in one, sorted by zone, month and source."""
    frames = [read(p) for p in paths]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    df = pd.concat(frames, ignore_index=True)
    return df.sort_values(SORT, kind="stable").reset_index(drop=True)[COLUMNS]


def write_csv(df: pd.DataFrame, dest: str | Path) -> None:
    """Any other table (provenance, zones shown), atomically."""
    with atomic_path(dest, suffix=".csv") as tmp:
        df.to_csv(tmp, index=False)
