"""``results/README.txt``: what each file of the results holds, every column of the
table with its unit (:data:`COLUMN_DOCS`, also the Parquet file's field metadata), the
configuration, and the sources, products and files (with their creation stamps) the
numbers come from (:func:`readme`)."""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Mapping, Sequence

import pandas as pd

UNIT = "nW/cm²/sr"
# column: (unit, meaning), in the table's order
COLUMN_DOCS: dict[str, tuple[str, str]] = {
    "zone_id": ("", "the area's id: a zone's exactly as in the zones file; a ring's "
                "{zone_id}__ring_{a}_{b}km"),
    "month": ("YYYY-MM", "the month (in the Parquet file: a date, the month's first day)"),
    "source": ("", "eog (EOG monthly v10) or blackmarble (NASA Black Marble)"),
    "satellite": ("", "npp (Suomi NPP), j01 (NOAA-20)"),
    "product": ("", "the product read (vcmcfg, vcmslcfg, VNP46A3, VJ146A3)"),
    "zone_kind": ("", "zone (an area of the zones file) or ring (around a zone)"),
    "parent_id": ("", "the zone a ring is around (a zone's own id for a zone)"),
    "ring_inner_km": ("km", "a ring's inner distance from its zone's outline (empty for a zone)"),
    "ring_outer_km": ("km", "a ring's outer distance from its zone's outline (empty for a zone)"),
    "shape": ("", "polygon (an outline of the zones file) or disc (a geodesic disc of "
              "zones.point_radius_km around a point); a ring has its zone's"),
    "area_km2": ("km²", "geodesic area on the WGS84 ellipsoid"),
    "pixels": ("pixels", "Σw: the weights of all pixels the area covers (coverage: its area in "
               "pixels; all_touched: their count)"),
    "pixels_observed": ("pixels", "Σw over the pixels observed that month"),
    "observed_share": ("0-1", "pixels_observed / pixels"),
    "sum": (f"{UNIT} × pixels", "Σ w·r over observed pixels: the area's light"),
    "mean": (UNIT, "Σ w·r / Σ w over observed pixels"),
    "median": (UNIT, "weighted median of the observed pixels"),
    "min": (UNIT, "least radiance of an observed pixel"),
    "max": (UNIT, "greatest radiance of an observed pixel"),
    "std": (UNIT, "weighted population standard deviation over observed pixels"),
    "cf_cvg_mean": ("observations", "cloud-free observations (EOG cf_cvg, Black Marble _Num), "
                    "weighted mean over covered pixels"),
    "cf_cvg_min": ("observations", "cloud-free observations, least over covered pixels"),
    "quality": ("", "ok, partly_observed, no_cloud_free or outside_coverage"),
    "start_month": ("YYYY-MM", "the zone's start (zones.start_field; a year alone counts from "
                    "January; in the Parquet file a date); a ring has its zone's"),
    "months_since_start": ("months", "whole months from start_month to month (0 in the start "
                           "month, negative before)"),
}  # fmt: skip
FILES = [
    ("zonal_stats.csv", "one row per area (zone or ring), month, source and satellite: the "
     "statistics, the zone table's columns, the kept attributes and the timing"),
    ("zonal_stats.parquet", "the same rows, typed (pyarrow): month and start_month as dates, "
     "ids as strings, categories, each column's meaning and unit in its metadata"),
    ("zonal_stats_wide.csv", "one row per area, source and satellite; one column per month "
     "(YYYY-MM) holding the statistic named below"),
    ("stats/{source}/{YYYY-MM}.csv", "one table per source and month (the statistics and the "
     "zone table's columns; no attributes)"),
    ("zones/areas.csv", "the zone table: every area (zones, then their rings), its kind, "
     "parent, ring distances, shape and area"),
    ("zones/attributes.parquet", "the kept attributes and start month of each zone"),
    ("zones_summary.json", "the zones file, its SHA-256, zone, disc and ring counts"),
    ("manifests/{source}/{YYYY-MM}.json", "every file of a month: tile, name, address, "
     "creation stamp"),
    ("run.json", "where the results are, the sources and months"),
    ("report.html", "after `snakemake --report results/report.html`: figures, maps, tables"),
]  # fmt: skip


def _columns_doc(columns: Sequence[str]) -> list[tuple[str, str, str]]:
    return [
        (c, *COLUMN_DOCS.get(c, ("", "kept from the zones file (zones.keep_fields)")))
        for c in columns
    ]


def _wrap(text: str, indent: int, width: int = 88) -> str:
    return textwrap.fill(
        text, width=width, initial_indent=" " * indent, subsequent_indent=" " * indent
    )


def readme(
    *,
    table_columns: Sequence[str],
    wide_stat: str,
    months: Sequence[str],
    zones_summary: Mapping,
    config_yaml: str,
    files: pd.DataFrame,
    sources: Mapping[str, Mapping],
    rows: int,
    version: str,
    written: dt.datetime,
) -> str:
    """The text of ``results/README.txt``.

    ``files``: every file used (:func:`sezlights.report.provenance_table`: source, month,
    product, satellite, tile, file, creation stamp); ``sources``: each source's
    provenance (:meth:`sezlights.sources.Source.provenance`)."""
    z = zones_summary
    n_zones = int(z.get("zones", 0) or 0)
    n_rings = int(z.get("areas", n_zones) or 0) - n_zones
    zones = f"Zones file {z.get('source', '')} (SHA-256 {z.get('sha256', '')}): {n_zones} zones"
    if z.get("discs"):
        zones += f" ({z['discs']} of them discs of {z.get('point_radius_km'):g} km around points)"
    if n_rings:
        others = "left out of" if z.get("rings_exclude_zones", True) else "kept in"
        zones += (
            f" and {n_rings} rings around them (zones.rings_km {list(z.get('rings_km') or [])};"
            f" every zone's area {others} every ring)"
        )
    when = f"Written {written:%Y-%m-%d %H:%M} UTC by sezlights {version}."
    if len(months):
        when += f" Months {months[0]} to {months[-1]} ({len(months)}); {rows} rows in the table."
    out = [
        "SEZ night lights: the results of a run",
        "=" * 38,
        "",
        _wrap(when, 0),
        _wrap(zones + ".", 0),
        "",
        "Files (in results/)",
        "-------------------",
    ]
    for name, what in FILES:
        out += [f"{name}", _wrap(what + (f" ({wide_stat})" if "wide" in name else ""), 4)]
    out += ["", "Columns (unit: meaning)", "-----------------------"]
    for col, unit, meaning in _columns_doc(table_columns):
        out += [col, _wrap(f"{unit + ': ' if unit else ''}{meaning}", 4)]
    out += [
        "",
        "Loading the table",
        "-----------------",
        '    pandas:  pd.read_parquet("results/zonal_stats.parquet")',
        '    R:       arrow::read_parquet("results/zonal_stats.parquet")',
        "",
        "Sources and products",
        "--------------------",
    ]
    for name, about in sources.items():
        used = files[files["source"] == name] if len(files) else files
        products = ", ".join(sorted(set(used["product"]))) if len(used) else "none"
        label = about.get("label", name)
        out.append(_wrap(f"{name}: {label}; products read: {products}; {len(used)} files.", 0))
    out += ["", "Files used (source month product satellite tile creation-stamp file)", "-" * 68]
    for r in files.itertuples(index=False):
        out.append(
            f"{r.source} {r.month} {r.product} {r.satellite} {r.tile} "
            f"{r.creation_stamp or '-'} {r.file}"
        )
    out += ["", "Configuration", "-------------", config_yaml.rstrip(), ""]
    return "\n".join(out)
