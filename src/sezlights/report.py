"""What the run report (``snakemake --report``) shows, apart from the figures.

- :func:`choose_zones`: the zones plotted and mapped one by one, and why.
- :func:`provenance_table`: every file used, per source, month and tile, with its
  creation stamp, from the month manifests.
- :func:`run_summary_html`: one plain page with the facts of the run, products and
  satellites month by month among them.
The figures are in :mod:`sezlights.plots`, figure names and labels in
:mod:`sezlights.labels`, browsable tables in :mod:`sezlights.htmltable`, series names and
colours in :mod:`sezlights.series`, the hiding of secrets in :mod:`sezlights.redact`.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd
import yaml

from . import redact, series
from .errors import UserError
from .manifest import Manifest
from .table import QUALITY

UNITS = "nW/cm²/sr"
QUALITIES = QUALITY  # ok, partly_observed, no_cloud_free, outside_coverage
MIN_SHARE = 0.5  # below this observed share a month's statistics are drawn faded
PROVENANCE_COLUMNS = [
    "source",
    "month",
    "product",
    "satellite",
    "tile",
    "file",
    "creation_stamp",
    "bytes_listed",
    "read",
    "url",
]


def _show_id(zone_id: str) -> str:
    """An id as written in a message: quoted when bare text would hide part of it."""
    if zone_id != zone_id.strip() or "," in zone_id or not zone_id.isprintable() or not zone_id:
        return repr(zone_id)
    return zone_id


def ranking_source(table: pd.DataFrame) -> str | None:
    """The source zones are ranked by: the first in the report's order (None for an
    empty table)."""
    if table.empty:
        return None
    return series.sources_in(table)[0]


def choose_zones(
    table: pd.DataFrame, wanted: Sequence[str] | None = None, max_zones: int = 50
) -> pd.DataFrame:
    """The zones the report shows one by one, with why each was chosen.

    Returns columns ``rank, zone_id, sum_of_lights_all_months, why``.

    ``wanted`` (``report.zones``) names them, in that order (repeats dropped; an
    empty list counts as no list); otherwise every zone is shown when there are at
    most ``max_zones``, and beyond that the ``max_zones`` brightest: largest sum of
    lights over the months run (empty months count 0; ties by id). With several
    sources in the table, the sum of lights is that of the first source in the report's
    order (see :func:`ranking_source`). Ids are compared
    exactly as strings (no trimming, no case folding). A report with a plot and a
    map for each of 10,000 zones would be neither quick to build nor to read.

    Raises :class:`~sezlights.errors.UserError` naming the ids in ``wanted`` that
    are not in the table.
    """
    ids = table["zone_id"].astype(str)
    all_ids = sorted(set(ids))
    source = ranking_source(table)
    several = source is not None and table["source"].nunique() > 1
    rows = table if source is None else table[table["source"].astype(str) == source]
    totals = (
        rows["sum"]
        .fillna(0)
        .groupby(ids[rows.index], sort=True)
        .sum()
        .reindex(all_ids, fill_value=0.0)
        .astype(float)
        .rename("sum_of_lights_all_months")
        .rename_axis("zone_id")
        .reset_index()
    )
    n = len(totals)
    if isinstance(wanted, str):
        wanted = [wanted]
    if wanted:
        wanted = list(dict.fromkeys(str(z) for z in wanted))
        known = set(all_ids)
        unknown = sorted(z for z in wanted if z not in known)
        if unknown:
            shown = ", ".join(_show_id(z) for z in unknown[:10])
            shown += " ..." if len(unknown) > 10 else ""
            raise UserError(
                f"report.zones names {len(unknown)} zone id(s) not in the zones file: "
                f"{shown}; fix the list in the config (ids are those of zones.id_field)"
            )
        chosen = totals.set_index("zone_id").loc[wanted].reset_index()
        chosen["why"] = "listed in report.zones"
    elif n <= max_zones:
        chosen = totals.copy()
        chosen["why"] = f"all {n} zones"
    else:
        chosen = totals.sort_values(
            ["sum_of_lights_all_months", "zone_id"], ascending=[False, True], kind="stable"
        ).head(max_zones)
        chosen["why"] = f"{max_zones} brightest of {n} zones" + (
            f" by {source} sum of lights" if several else ""
        )
    chosen.insert(0, "rank", range(1, len(chosen) + 1))
    return chosen.reset_index(drop=True)


# --------------------------------------------------------------------------- provenance


def provenance_table(manifests: Iterable[str | Path]) -> pd.DataFrame:
    """Every file used: source, month, product, satellite, tile, file, creation stamp,
    size in bytes as listed by the server (empty when the listing gave none), how it was
    read (``download`` or ``window``) and URL, from the month manifests. Rows are sorted
    by source (in the report's order), month, product and tile."""
    rows = []
    for path in manifests:
        m = Manifest.read(path)
        for g in m.granules:
            for part in g.parts:
                rows.append(
                    {
                        "source": m.source,
                        "month": m.month,
                        "product": g.product + (f" ({g.line})" if g.line else ""),
                        "satellite": g.satellite,
                        "tile": g.tile,
                        "file": part.name,
                        "creation_stamp": part.stamp or "",
                        "bytes_listed": part.size,
                        "read": g.read,
                        "url": redact.url(part.url),
                    }
                )
    df = pd.DataFrame(rows, columns=PROVENANCE_COLUMNS)
    df["bytes_listed"] = pd.array(
        [
            None if v is None or (isinstance(v, float) and math.isnan(v)) else int(v)
            for v in df["bytes_listed"]
        ],
        dtype="Int64",
    )
    for col in PROVENANCE_COLUMNS:
        if col != "bytes_listed":
            df[col] = df[col].astype(str)
    if df.empty:
        return df.reset_index(drop=True)
    order = sorted(
        range(len(df)),
        key=lambda i: (
            series.source_order(df["source"].iat[i]),
            df["month"].iat[i],
            df["product"].iat[i],
            df["tile"].iat[i],
            df["file"].iat[i],
        ),
    )
    return df.iloc[order].reset_index(drop=True)


# --------------------------------------------------------------------------- run summary


def _join(values: Iterable) -> str:
    return ", ".join(str(v) for v in dict.fromkeys(v for v in values if v not in (None, "")))


def _per_source(
    files: pd.DataFrame,
    table: pd.DataFrame | None,
    manifests: list[Manifest],
    described: Mapping[str, Mapping],
) -> pd.DataFrame:
    names = set(described) | {m.source for m in manifests}
    if table is not None:
        names |= set(table["source"].astype(str))
    rows = []
    for source in sorted(names, key=series.source_order):
        about = described.get(source) or {}
        mans = [m for m in manifests if m.source == source]
        used = files[files["source"] == source]
        row = {
            "source": source,
            "data": about.get("label") or source,
            "product": str(about.get("product", "")),
            "satellites": _join(
                series.satellite_label(s)
                for s in sorted(set(used["satellite"]), key=series.satellite_order)
            ),
            "months with files": used["month"].nunique(),
            "files used": len(used),
            "read by window": int((used["read"] == "window").sum()),
            "tiles absent from the server": sum(len(m.absent) for m in mans),
        }
        for key, title in (
            ("collection", "collection"),
            ("endpoint", "endpoint"),
            ("variable", "variable"),
        ):
            if about.get(key):
                row[title] = str(about[key])
        if about.get("quality_accepted") is not None:
            row["quality classes accepted"] = _join(about["quality_accepted"])
        if table is not None:
            q = table.loc[table["source"].astype(str) == source, "quality"].astype(str)
            counts = q.value_counts()
            row["zone-months"] = len(q)
            for quality in QUALITIES:
                row[quality] = int(counts.get(quality, 0))
        rows.append(row)
    return pd.DataFrame(rows)


def _products_by_month(manifests: list[Manifest]) -> pd.DataFrame:
    """Per source and month: the products and satellites read, the files each way, the
    bytes each way (fetched, as whole files, by window: the listing's counts), and what
    the listing said (a product with no file that month, a fallback)."""
    rows = []
    for m in sorted(manifests, key=lambda m: (series.source_order(m.source), m.month)):
        products = _join(
            f"{s['product']} ({series.satellite_label(s['satellite'])})" for s in m.series
        )
        lines = _join(g.line for g in m.granules)
        rows.append(
            {
                "source": m.source,
                "month": m.month,
                "products (satellites)": products or "none listed",
                "processing line": lines,
                "files downloaded": sum(g.read == "download" for g in m.granules),
                "files read by window": sum(g.read == "window" for g in m.granules),
                # bytes each way, as the listing counted them (MB; empty: not counted)
                "MB fetched": _mb(
                    g.bytes_window if g.read == "window" else g.bytes_download for g in m.granules
                ),
                "MB as whole files": _mb(g.bytes_download for g in m.granules),
                "MB by window": _mb(g.bytes_window for g in m.granules),
                "tiles absent": _join(f"{a['tile']} ({a['product']})" for a in m.absent),
                "notes": "; ".join(m.notes),
            }
        )
    df = pd.DataFrame(rows)
    if len(df) and not df["processing line"].astype(bool).any():
        df = df.drop(columns="processing line")
    return df


def _mb(values) -> str:
    """Megabytes of a sum, or "" if some value is not known (or there is none)."""
    values = list(values)
    if not values or any(v is None for v in values):
        return ""
    return f"{sum(values) / 1e6:.1f}"


def _stamps_by_month(files: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Per source, a month x tile table of creation stamps (a tile per product where a
    source has several)."""
    out = []
    if files.empty:
        return out
    for source in sorted(set(files["source"]), key=series.source_order):
        t = files[files["source"] == source].copy()
        if t["product"].nunique() > 1:
            t["tile"] = t["tile"] + " (" + t["product"] + ")"
        grid = t.pivot_table(
            index="month", columns="tile", values="creation_stamp", aggfunc=_join
        ).fillna("")
        grid.columns.name = None
        out.append((source, grid))
    return out


_PAGE_STYLE = (
    "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;"
    "margin-bottom:1em}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;"
    "white-space:pre;text-align:left}pre{background:#f6f6f6;padding:.8em;font-size:12px}"
    "</style>"
)


def run_summary_html(
    zones_summary: str | Path,
    config: Mapping,
    months: Sequence[str],
    files: pd.DataFrame,
    shown: pd.DataFrame,
    *,
    table: pd.DataFrame | None = None,
    manifests: Iterable[str | Path] = (),
    sources: Mapping[str, Mapping] | None = None,
    tiles_needed: Mapping[str, list[str]] | None = None,
) -> str:
    """A plain HTML page with the facts of the run.

    - facts: months, zones file and its SHA-256, zone count, id field, tiles needed
      (``tiles_needed``: per grid, from the pixel index), files used, the zones plotted
      one by one (``shown``, from :func:`choose_zones`);
    - per source (``sources``: ``{name: Source.provenance()}``): label, products,
      collection, satellites, files used (each way), tiles absent from the server, and
      how many zone-months are ok / partly_observed / no_cloud_free / outside_coverage
      (from ``table``, the statistics table; left out without it);
    - per source and month: the products and satellites read, the files each way, the
      tiles absent and the listing's notes (from ``manifests``);
    - the creation stamp of each tile per month, per source (``files``, from
      :func:`provenance_table`);
    - the configuration as YAML (``config``, already redacted: :func:`sezlights.redact.redact`).
    """
    z = json.loads(Path(zones_summary).read_text(encoding="utf-8"))
    mans = [Manifest.read(p) for p in manifests]
    needed_text = "; ".join(
        f"{grid}: {', '.join(map(str, tiles)) or 'none'}"
        for grid, tiles in sorted((tiles_needed or {}).items())
    )
    n_zones = z.get("zones", "")
    if len(shown):
        plotted = f"{len(shown)} of {n_zones} ({shown['why'].iloc[0]})"
    else:
        plotted = "none"
    month_text = f"{months[0]} to {months[-1]} ({len(months)})" if len(months) else "none"
    facts = [
        ("months", month_text),
        ("zones file", z.get("source", "")),
        ("zones file sha256", z.get("sha256", "")),
        ("zones", n_zones),
        ("id field", z.get("id_field", "")),
        ("tiles needed", needed_text),
        ("files used", len(files)),
        ("zones plotted one by one", plotted),
    ]
    per_source = _per_source(files, table, mans, sources or {})
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Run summary</title>",
        _PAGE_STYLE,
        "</head><body><h2>Run summary</h2>",
        _kv_table(facts),
    ]
    if len(per_source):
        parts += [
            "<h3>Sources</h3>",
            "<p>Zone-month counts by quality: <i>ok</i> every pixel observed cloud-free; "
            "<i>partly_observed</i> some; <i>no_cloud_free</i> none; <i>outside_coverage</i> "
            "no pixel of the source's grid covers the zone. The report calls every month "
            "that is not <i>ok</i> poorly observed.</p>",
            per_source.to_html(index=False, escape=True, na_rep=""),
        ]
    by_month = _products_by_month(mans)
    if len(by_month):
        parts += [
            "<h3>Products and satellites, month by month</h3>",
            "<p>Suomi NPP (npp) and NOAA-20 (j01) are separate rows of the table: in the "
            "months both flew, a zone has a row for each.</p>",
            by_month.to_html(index=False, escape=True, na_rep=""),
        ]
    for source, grid in _stamps_by_month(files):
        parts += [
            f"<h3>Creation stamp of each tile used: {html.escape(source)}</h3>",
            grid.reset_index().to_html(index=False, escape=True),
        ]
    cfg = yaml.safe_dump(dict(config), sort_keys=False, allow_unicode=True)
    parts += ["<h3>Configuration</h3><pre>", html.escape(cfg), "</pre></body></html>\n"]
    return "".join(parts)


def _kv_table(rows: Iterable[tuple[str, object]]) -> str:
    body = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )
    return f"<table>{body}</table>"


# --------------------------------------------------------------------------- html tables
