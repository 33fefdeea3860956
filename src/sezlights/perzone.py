"""The statistics table summed up per zone, for the report: one row per zone.

The time series (``results/zonal_stats.csv``) has a row per zone, month and source:
200 zones over 14 years from two sources are 67,000 rows, more than a page of the
report holds (:mod:`sezlights.htmltable`: about 2,900 statistics rows). Per zone it
is one row, so every zone can be found in the report by its id: for each source, the
months run, the months fully observed (``quality`` ``ok``), and the mean over the
months (those with a value) of the observed share, the mean radiance and the sum of
lights. Values are rounded to 4 significant digits (the table itself has them all).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import series

DIGITS = 4


def _rounded(values: pd.Series) -> pd.Series:
    """``values`` to DIGITS significant digits (NaN stays NaN)."""
    arr = values.to_numpy(dtype=np.float64)
    out = np.full(arr.size, np.nan)
    ok = np.isfinite(arr) & (arr != 0)
    scale = 10.0 ** (DIGITS - 1 - np.floor(np.log10(np.abs(arr[ok]))))
    out[ok] = np.round(arr[ok] * scale) / scale
    out[np.isfinite(arr) & (arr == 0)] = 0.0
    return pd.Series(out, index=values.index)


def per_zone(table: pd.DataFrame) -> pd.DataFrame:
    """One row per zone of ``table`` (in its order), with per-series columns
    (:mod:`sezlights.series`: ``eog``, or ``blackmarble_npp`` and ``blackmarble_j01``)
    ``{series}_months``, ``{series}_months_ok``, ``{series}_observed_share`` (mean),
    ``{series}_mean`` (mean of the monthly mean radiance) and ``{series}_sum`` (mean
    monthly sum of lights); a zone a series has no rows for gets 0 months and empty
    values."""
    ids = pd.Index(pd.unique(table["zone_id"]), name="zone_id")
    out = pd.DataFrame(index=ids)
    out["area_km2"] = table.groupby("zone_id", sort=False)["area_km2"].first()
    keys = series.keys(table)
    for key in series.ordered(table) if len(table) else []:
        rows = table[keys == key]
        source = key.replace("/", "_")
        by_zone = rows.groupby("zone_id", sort=False)
        months = by_zone.size().reindex(ids, fill_value=0)
        ok = rows["quality"].eq("ok").groupby(rows["zone_id"], sort=False).sum()
        out[f"{source}_months"] = months.astype("int64")
        out[f"{source}_months_ok"] = ok.reindex(ids, fill_value=0).astype("int64")
        for column, name in (("observed_share", "observed_share"), ("mean", "mean")):
            out[f"{source}_{name}"] = _rounded(by_zone[column].mean().reindex(ids))
        out[f"{source}_sum"] = _rounded(by_zone["sum"].mean().reindex(ids))
    return out.reset_index()
