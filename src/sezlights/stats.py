"""Per-zone statistics of one month's mosaic.

Engine: rasterstats, with ``all_touched=True``: a pixel belongs to a zone when the
zone's outline touches it at all. SEZs are often smaller than one 15" pixel
(~460 m at the equator); with centre-point selection such a zone would get no
pixel and no value. The statistics are plain (unweighted) over the touched pixels.

Radiance 0 is a value (dark), never nodata; only pixels outside the VIIRS
coverage (NaN in the mosaic) are left out. ``std`` is the population standard
deviation (ddof=0).

``quality`` per zone and month:
- ``ok``: at least one touched pixel had a cloud-free observation;
- ``no_cloud_free``: every touched pixel had zero cloud-free observations, so the
  radiance is not a measurement (EOG writes 0 there);
- ``outside_coverage``: no touched pixel lies in the VIIRS coverage (65S to 75N):
  all statistics are empty (NaN).
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
from rasterstats import zonal_stats

COLUMNS = [
    "zone_id",
    "month",
    "pixel_count",
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
RADIANCE_STATS = ["count", "sum", "mean", "median", "min", "max", "std"]
COVERAGE_STATS = ["mean", "min", "max"]


def _zonal(zones: gpd.GeoDataFrame, raster: str, stats: list[str]) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        rows = zonal_stats(
            list(zones.geometry), raster, stats=stats, all_touched=True, nodata=np.nan
        )
    return pd.DataFrame(rows, columns=stats).astype("float64")


def month_stats(zones: gpd.GeoDataFrame, radiance: str, coverage: str, month: str) -> pd.DataFrame:
    rad = _zonal(zones, radiance, RADIANCE_STATS)
    cvg = _zonal(zones, coverage, COVERAGE_STATS)
    df = pd.DataFrame({"zone_id": zones.zone_id.astype(str).values, "month": month})
    df["pixel_count"] = rad["count"].fillna(0).astype("int64")
    for c in ["sum", "mean", "median", "min", "max", "std"]:
        df[c] = rad[c]
    empty = df.pixel_count == 0
    # rasterstats reports sum 0 / count 0 for zones without valid pixels: make them empty
    df.loc[empty, ["sum", "mean", "median", "min", "max", "std"]] = np.nan
    df["cf_cvg_mean"] = cvg["mean"]
    df["cf_cvg_min"] = cvg["min"]
    df["quality"] = np.select(
        [empty, cvg["max"].fillna(0) <= 0], ["outside_coverage", "no_cloud_free"], "ok"
    )
    return df[COLUMNS].sort_values("zone_id", kind="stable").reset_index(drop=True)


def write_csv(df: pd.DataFrame, dest) -> None:
    from .atomic import atomic_path

    with atomic_path(dest, suffix=".csv") as tmp:
        df.to_csv(tmp, index=False)


def combine(csvs: list[str]) -> pd.DataFrame:
    """All monthly tables in one, sorted by zone then month."""
    frames = [pd.read_csv(p, dtype={"zone_id": str, "month": str}) for p in csvs]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    df = pd.concat(frames, ignore_index=True)
    return df.sort_values(["zone_id", "month"], kind="stable").reset_index(drop=True)[COLUMNS]
