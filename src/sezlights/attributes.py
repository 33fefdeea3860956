"""The zones' attributes the table carries: kept fields and the start (timing).

Read from the zones file by their own job (``read_zone_attributes``), never through
the zones' geometry: changing ``zones.keep_fields`` or ``zones.start_field`` rewrites
the table and its outputs only, not the zones, the pixel index or the statistics.

- ``zones.keep_fields``: columns of the zones file carried into every row (country,
  sector, operator...), with their types (a text column stays text: an id-like
  "007" is not a number).
- ``zones.start_field``: the zone's start (establishment) date, a year (2005, "2005"),
  a month ("2005-06", "2005/06") or a day ("2005-06-15", or a date field); it becomes
  ``start_month`` (``YYYY-MM``; a year alone counts from its January) and each row's
  ``months_since_start`` (0 in the start month, negative before). An empty value is no
  start (both columns empty, and said once); a value that cannot be read stops the run
  with one message listing every such zone and its value.

The attributes are one row per zone (``results/zones/attributes.parquet``, types kept);
a ring takes its zone's (:func:`join`, by ``parent_id``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import atomic_path
from .errors import ConfigError, ZonesError
from .months import month_index
from .table import STATS_COLUMNS, TIMING

_YEAR = re.compile(r"^\s*(\d{4})(?:\.0+)?\s*$")
_MONTH = re.compile(r"^\s*(\d{4})[-/](\d{1,2})\s*$")
_DAY = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ][0-9:.]+(?:Z|[+-]\d\d:?\d\d)?)?\s*$")
FIRST_YEAR, LAST_YEAR = 1800, 2200
FORMATS = "a year (2005), YYYY-MM or YYYY-MM-DD"


def check_fields(keep_fields: Sequence[str], start_field: str | None) -> None:
    """Kept fields may not take a name the table already has (a ConfigError naming it)."""
    taken = set(STATS_COLUMNS) | set(TIMING)
    clash = [f for f in keep_fields if f in taken]
    if clash:
        raise ConfigError(
            f"zones.keep_fields {', '.join(map(repr, clash))}: the table already has a "
            "column of that name; leave it out of zones.keep_fields (rename the zones "
            "file's column to keep it)."
        )


def start_month(value) -> str | None:
    """A start date as ``YYYY-MM``; None for an empty value; ValueError if unreadable."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (dt.date, dt.datetime, pd.Timestamp, np.datetime64)):
        t = pd.Timestamp(value)
        return f"{t.year:04d}-{t.month:02d}"
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(value)
    if isinstance(value, (int, np.integer)) or (
        isinstance(value, (float, np.floating)) and float(value).is_integer()
    ):
        value = str(int(value))
    text = str(value)
    if not text.strip():
        return None
    if m := _YEAR.match(text):
        year, month = int(m[1]), 1
    elif m := _MONTH.match(text):
        year, month = int(m[1]), int(m[2])
    elif m := _DAY.match(text):
        year, month = int(m[1]), int(m[2])
        dt.date(year, month, int(m[3]))  # a day that does not exist raises ValueError
    else:
        raise ValueError(value)
    if not (FIRST_YEAR <= year <= LAST_YEAR and 1 <= month <= 12):
        raise ValueError(value)
    return f"{year:04d}-{month:02d}"


def start_months(ids: Sequence[str], values: Sequence, field: str, path) -> list[str | None]:
    """Every zone's start month; every value that cannot be read, in one ZonesError."""
    out, bad = [], []
    for zid, value in zip(ids, values, strict=True):
        try:
            out.append(start_month(value))
        except (ValueError, TypeError, OverflowError):
            out.append(None)
            bad.append(f"{zid} ({value!r})")
    if bad:
        shown = ", ".join(bad[:20]) + (f" (and {len(bad) - 20} more)" if len(bad) > 20 else "")
        raise ZonesError(
            f"zones file {path}: {len(bad)} zone(s) have a {field!r} (zones.start_field) that "
            f"is not a date: {shown}; write each as {FORMATS}, or leave it empty for a zone "
            "with no start date."
        )
    return out


def read(
    path: str | Path,
    id_field: str,
    layer: str | None = None,
    *,
    table: bool = False,
    keep_fields: Sequence[str] = (),
    start_field: str | None = None,
) -> pd.DataFrame:
    """One row per zone of the zones file: ``zone_id``, the kept fields (their types
    kept), ``start_month`` (text ``YYYY-MM``, None where empty). ``table``: the zones
    are a table's points (zones.lon_field and zones.lat_field)."""
    from .zones import read_attribute_table

    check_fields(keep_fields, start_field)
    df = read_attribute_table(path, id_field, layer, table=table)
    wanted = list(keep_fields) + ([start_field] if start_field else [])
    absent = [f for f in wanted if f not in df.columns]
    if absent:
        cols = [str(c) for c in df.columns if c != "zone_id"]
        raise ZonesError(
            f"zones file {path} has no column {', '.join(map(repr, absent))} "
            f"(zones.keep_fields, zones.start_field); its columns are: {', '.join(cols)}."
        )
    out = pd.DataFrame({"zone_id": df["zone_id"].astype(str).to_numpy()})
    for f in keep_fields:
        out[f] = _plain(df[f])
    starts = (
        start_months(list(out.zone_id), list(df[start_field]), start_field, path)
        if start_field
        else [None] * len(out)
    )
    out["start_month"] = pd.Series(starts, dtype=object)
    return out


def no_start_note(df: pd.DataFrame, start_field: str | None) -> str | None:
    """What to tell the user of the zones with no start month (None: every zone has one)."""
    from .zones import _ids

    none = list(df.zone_id[df["start_month"].isna()]) if start_field else []
    if not none:
        return None
    return (
        f"{len(none)} of {len(df)} zones have no {start_field!r} (zones.start_field), so no "
        f"months_since_start: {_ids(none)}"
    )


def _plain(col: pd.Series) -> pd.Series:
    """A column as Parquet can hold it: text with None where empty, when mixed."""
    if col.dtype == object:
        return col.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else v)
    return col


def write(df: pd.DataFrame, dest: str | Path) -> None:
    """The attributes as Parquet (types kept), atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with atomic_path(dest, suffix=".parquet") as tmp:
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp)


def load(path: str | Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    df = pq.read_table(path).to_pandas()
    df["zone_id"] = df["zone_id"].astype(str)
    return df


def join(stats: pd.DataFrame, attrs: pd.DataFrame) -> pd.DataFrame:
    """The statistics rows with their zone's attributes (a ring its parent's, by
    ``parent_id``), ``start_month`` and ``months_since_start`` (whole months from the
    start month to the row's month; negative before; empty without a start)."""
    a = attrs.rename(columns={"zone_id": "parent_id"})
    kept = [c for c in a.columns if c not in ("parent_id", "start_month")]
    out = stats.drop(columns=[c for c in kept + TIMING if c in stats]).merge(
        a, on="parent_id", how="left", validate="many_to_one"
    )
    start = out["start_month"]
    has = start.notna() & (start.astype(str) != "")
    months = np.full(len(out), np.nan)
    if has.any():
        months[has.to_numpy()] = [
            month_index(m) - month_index(s)
            for m, s in zip(out.loc[has, "month"], out.loc[has, "start_month"], strict=True)
        ]
    out["start_month"] = start.where(has, "")
    out["months_since_start"] = months
    return out
