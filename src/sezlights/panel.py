"""The analysis-ready outputs of the table stage, beside ``results/zonal_stats.csv``.

- :func:`write_parquet`: ``results/zonal_stats.parquet``, the same rows typed (pyarrow):
  ``month`` and ``start_month`` as dates (the month's first day), ids as strings,
  categories for the few-valued text columns, ``months_since_start`` a nullable
  integer, each column's meaning and unit in its field metadata. One line loads it:
  ``pd.read_parquet("results/zonal_stats.parquet")`` (pandas),
  ``arrow::read_parquet("results/zonal_stats.parquet")`` (R).
- :func:`wide`: ``results/zonal_stats_wide.csv``, one row per area, source and
  satellite, one column per month of one statistic (``table.wide_stat``).

``results/README.txt`` is :mod:`sezlights.describe`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .atomic import atomic_path
from .describe import COLUMN_DOCS
from .table import _FORMAT, ZONE_COLUMNS, _fmt, sort

CATEGORIES = ["source", "satellite", "product", "zone_kind", "shape", "quality"]


# --------------------------------------------------------------------------- Parquet


def _date(months: pd.Series) -> pd.Series:
    text = months.astype(str)
    out = pd.to_datetime(text.where(text != "", None) + "-01", format="%Y-%m-%d", errors="coerce")
    return out.dt.date


def typed(df: pd.DataFrame) -> pd.DataFrame:
    """The combined table with the Parquet file's types."""
    out = df.copy()
    for col in ("zone_id", "parent_id"):
        out[col] = out[col].astype("string")
    for col in CATEGORIES:
        out[col] = out[col].astype("string").replace("", pd.NA).astype("category")
    out["month"] = _date(out["month"])
    out["start_month"] = _date(out["start_month"])
    for col in _FORMAT:  # every statistic a float, whatever a run's values happen to be
        if col in out and col != "months_since_start":
            out[col] = pd.to_numeric(out[col]).astype("float64")
    out["months_since_start"] = pd.array(
        [None if pd.isna(v) else int(v) for v in out["months_since_start"]], dtype="Int32"
    )
    for col in out.columns:
        if out[col].dtype == object and col not in ("month", "start_month"):
            values = out[col].dropna()
            if len(values) and values.map(lambda v: isinstance(v, str)).all():
                out[col] = out[col].astype("string")
    return out


def write_parquet(df: pd.DataFrame, dest: str | Path) -> None:
    """The combined table as Parquet, atomically (types: :func:`typed`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pa.Table.from_pandas(typed(df), preserve_index=False)
    fields = []
    for field in t.schema:
        unit, meaning = COLUMN_DOCS.get(field.name, ("", "kept from the zones file"))
        fields.append(field.with_metadata({"unit": unit, "description": meaning}))
    schema = pa.schema(fields, metadata=t.schema.metadata)
    with atomic_path(dest, suffix=".parquet") as tmp:
        pq.write_table(t.cast(schema), tmp)


# --------------------------------------------------------------------------- wide


def wide(df: pd.DataFrame, stat: str, kept: Sequence[str] = ()) -> pd.DataFrame:
    """One row per area, source and satellite (in the table's order), its zone columns,
    kept attributes and start month, then one column per month (``YYYY-MM``, every
    month of the table) holding ``stat``."""
    index = ["zone_id", "source", "satellite"]
    facts = [*ZONE_COLUMNS[1:], *kept, "start_month"]
    facts = [c for c in facts if c in df]
    rows = sort(df)
    months = sorted(rows["month"].astype(str).unique())
    grid = rows.pivot(index=index, columns="month", values=stat).reindex(columns=months)
    grid.columns = [str(m) for m in grid.columns]
    first = rows.drop_duplicates(index)[index + facts]
    out = first.merge(grid.reset_index(), on=index, how="left")
    return out[["zone_id", "source", "satellite", *facts, *months]]


def write_wide(df: pd.DataFrame, dest: str | Path, stat: str, kept: Sequence[str] = ()) -> None:
    """:func:`wide`, written as the table writes its numbers (7 significant digits for
    radiance, 4 decimals for shares)."""
    out = wide(df, stat, kept)
    text = out.astype(object).copy()
    kind, digits = _FORMAT.get(stat, ("g", 7))
    for col in out.columns:
        if col in _FORMAT:
            text[col] = _fmt(out[col], *_FORMAT[col])
        elif len(col) == 7 and col[4] == "-" and col[:4].isdigit():
            text[col] = _fmt(out[col], kind, digits)
    with atomic_path(dest, suffix=".csv") as tmp:
        text.to_csv(tmp, index=False, na_rep="")
