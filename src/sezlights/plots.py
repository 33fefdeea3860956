"""Figures and tables for the run report (``snakemake --report``).

Plots are made with matplotlib (Agg backend, no screen needed): one overview of
all zones, and for each zone shown (all of them, up to ``report.max_zones``) a
time series of sum of lights and mean radiance with poorly observed months
marked, and a map of the zone's outline over the latest month's radiance.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import geopandas as gpd  # noqa: E402
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from .atomic import atomic_path  # noqa: E402
from .errors import UserError  # noqa: E402

UNITS = "nW/cm²/sr"
POOR_CF_CVG = 2.0  # mean cloud-free observations below this marks a month as poorly observed


def safe_name(zone_id: str) -> str:
    """A file name for a zone id (ids may hold any character)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(zone_id)).strip("._") or "zone"


def poorly_observed(df: pd.DataFrame) -> pd.Series:
    """Months where the radiance is not a trustworthy measurement."""
    return (df["quality"] != "ok") | (df["cf_cvg_mean"].fillna(0) < POOR_CF_CVG)


def _save(fig, dest: Path) -> None:
    with atomic_path(dest, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def choose_zones(
    table: pd.DataFrame, wanted: list[str] | None = None, max_zones: int = 50
) -> pd.DataFrame:
    """The zones the report shows one by one, with why each was chosen.

    ``wanted`` (``report.zones``) names them; otherwise every zone is shown when
    there are at most ``max_zones``, and beyond that the ``max_zones`` brightest
    (largest sum of lights over the months run; ties by id). A report with a plot
    and a map for each of 10,000 zones would be neither quick to build nor read.
    """
    totals = (
        table.assign(sum=table["sum"].fillna(0))
        .groupby("zone_id", sort=True)["sum"]
        .sum()
        .rename("sum_of_lights_all_months")
        .reset_index()
    )
    n = len(totals)
    if wanted is not None:
        wanted = [str(z) for z in wanted]
        unknown = sorted(set(wanted) - set(totals["zone_id"]))
        if unknown:
            shown = ", ".join(unknown[:10]) + (" ..." if len(unknown) > 10 else "")
            raise UserError(
                f"report.zones names {len(unknown)} zone id(s) not in the zones file: "
                f"{shown}; fix the list in the config (ids are those of zones.id_field)"
            )
        chosen = totals.set_index("zone_id").loc[list(dict.fromkeys(wanted))].reset_index()
        chosen["why"] = "listed in report.zones"
    elif n <= max_zones:
        chosen = totals.copy()
        chosen["why"] = f"all {n} zones"
    else:
        chosen = totals.sort_values(
            ["sum_of_lights_all_months", "zone_id"], ascending=[False, True], kind="stable"
        ).head(max_zones)
        chosen["why"] = f"{max_zones} brightest of {n} zones"
    chosen.insert(0, "rank", range(1, len(chosen) + 1))
    return chosen.reset_index(drop=True)


def overview_figure(table: pd.DataFrame, dest: str | Path) -> Path:
    """One PNG for all zones: total sum of lights, spread of the zones' mean
    radiance, and the share of zones poorly observed, by month."""
    df = table.assign(poor=poorly_observed(table))
    by = df.groupby("month", sort=True)
    months = pd.to_datetime(pd.Series(sorted(df["month"].unique())) + "-01")
    total = by["sum"].sum(min_count=1).to_numpy()
    q = by["mean"].quantile([0.25, 0.5, 0.75]).unstack()
    poor = by["poor"].mean().to_numpy() * 100
    n = df["zone_id"].nunique()

    fig, axes = plt.subplots(3, 1, figsize=(7.5, 6.4), sharex=True)
    axes[0].plot(months, total, color="#1f4e79", marker="o", ms=4, lw=1.6)
    axes[0].set_ylabel(f"sum of lights, all zones\n({UNITS} × pixels)", fontsize=8)
    axes[0].set_title(f"All {n} zones: night lights by month", fontsize=10)
    axes[1].fill_between(
        months, q[0.25], q[0.75], color="#1f4e79", alpha=0.2, lw=0, label="middle half"
    )
    axes[1].plot(months, q[0.5], color="#1f4e79", marker="o", ms=4, lw=1.6, label="median")
    axes[1].set_ylabel(f"zones' mean radiance\n({UNITS})", fontsize=8)
    axes[1].legend(fontsize=7, loc="best")
    axes[2].bar(months, poor, width=20, color="#c0392b", alpha=0.7)
    axes[2].set_ylim(0, 100)
    axes[2].set_ylabel("zones poorly\nobserved (%)", fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
    _month_axis(axes[2], len(pd.period_range(months.iloc[0], months.iloc[-1], freq="M")))
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _save(fig, dest)
    return dest


def _month_axis(ax, span: int) -> None:
    locator = (
        mdates.MonthLocator(interval=max(1, span // 12))
        if span <= 36
        else mdates.AutoDateLocator(minticks=3, maxticks=12)
    )
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel("month")


def timeseries_figures(
    table: pd.DataFrame, outdir: str | Path, zone_ids: list[str] | None = None
) -> list[Path]:
    """One PNG per zone (those in ``zone_ids``, or all): sum of lights and mean
    radiance by month."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    if zone_ids is not None:
        table = table[table["zone_id"].isin(set(zone_ids))]
    written = []
    for zone_id, df in table.groupby("zone_id", sort=True):
        df = df.sort_values("month")
        months = pd.to_datetime(df["month"] + "-01")
        poor = poorly_observed(df).to_numpy()
        fig, axes = plt.subplots(2, 1, figsize=(7.5, 4.8), sharex=True)
        for ax, col, label in (
            (axes[0], "sum", f"sum of lights ({UNITS} × pixels)"),
            (axes[1], "mean", f"mean radiance ({UNITS})"),
        ):
            ax.plot(months, df[col], color="#1f4e79", marker="o", ms=4, lw=1.6)
            if poor.any():
                ax.scatter(
                    months[poor],
                    df[col][poor],
                    s=70,
                    facecolors="none",
                    edgecolors="#c0392b",
                    lw=1.5,
                    zorder=3,
                    label="poor cloud-free coverage",
                )
                for m in months[poor]:
                    ax.axvspan(
                        m - pd.Timedelta(days=14),
                        m + pd.Timedelta(days=14),
                        color="#c0392b",
                        alpha=0.08,
                        lw=0,
                    )
            ax.set_ylabel(label, fontsize=8)
            ax.grid(alpha=0.3)
        if poor.any():
            axes[0].legend(fontsize=7, loc="best")
        axes[0].set_title(f"{zone_id}: night lights by month", fontsize=10)
        span = len(pd.period_range(df["month"].iloc[0], df["month"].iloc[-1], freq="M"))
        _month_axis(axes[1], span)
        dest = outdir / f"{safe_name(zone_id)}.png"
        _save(fig, dest)
        written.append(dest)
    return written


def zone_maps(
    zones: gpd.GeoDataFrame,
    crops: list[tuple[np.ndarray, tuple[float, float, float, float]]],
    month: str,
    outdir: str | Path,
) -> list[Path]:
    """One PNG per zone: its outline over the radiance around it, with a colour scale.

    ``crops`` holds, per zone, the radiance array around it and its bounds (left,
    bottom, right, top), as :func:`sezlights.zonal.gather_crops` reads them from the
    month's tiles.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for zone_id, geom, (data, (left, bottom, right, top)) in zip(
        zones.zone_id, zones.geometry, crops, strict=True
    ):
        fig, ax = plt.subplots(figsize=(5.2, 4.4))
        finite = data[np.isfinite(data)]
        vmax = float(np.percentile(finite, 99)) if finite.size else 1.0
        im = ax.imshow(
            data,
            extent=(left, right, bottom, top),
            cmap="magma",
            vmin=0,
            vmax=max(vmax, 1e-6),
            interpolation="nearest",
        )
        gpd.GeoSeries([geom]).boundary.plot(ax=ax, color="#00e5ff", lw=1.6)
        ax.set_xlim(left, right)
        ax.set_ylim(bottom, top)
        cb = fig.colorbar(im, ax=ax, shrink=0.85)
        cb.set_label(f"radiance ({UNITS})", fontsize=8)
        ax.set_title(f"{zone_id}, {month}", fontsize=10)
        ax.set_xlabel("longitude (°)", fontsize=8)
        ax.set_ylabel("latitude (°)", fontsize=8)
        ax.tick_params(labelsize=7)
        dest = outdir / f"{safe_name(zone_id)}.png"
        _save(fig, dest)
        written.append(dest)
    return written


def provenance_table(manifests: list[str | Path]) -> pd.DataFrame:
    """Months and tiles used: file name and creation stamp of each tile."""
    rows = []
    for path in manifests:
        m = json.loads(Path(path).read_text())
        for t in m["tiles"]:
            rows.append(
                {
                    "month": m["month"],
                    "tile": t["tile"],
                    "file": t["name"],
                    "creation_stamp": t["stamp"],
                    "bytes": t["size"],
                    "url": t["url"],
                }
            )
    return pd.DataFrame(rows, columns=["month", "tile", "file", "creation_stamp", "bytes", "url"])


def run_summary_html(
    zones_summary: str | Path,
    config: dict,
    months: list[str],
    tiles: pd.DataFrame,
    shown: pd.DataFrame,
) -> str:
    """A plain HTML page: zones file and checksum, months, tiles per month, the
    zones plotted one by one (:func:`choose_zones`), config."""
    z = json.loads(Path(zones_summary).read_text())
    facts = pd.DataFrame(
        [
            ("months", f"{months[0]} to {months[-1]} ({len(months)})"),
            ("zones file", z["source"]),
            ("zones file sha256", z["sha256"]),
            ("zones", z["zones"]),
            ("id field", z["id_field"]),
            ("tiles needed", ", ".join(z["tiles_needed"])),
            ("tile archives used", len(tiles)),
            ("product", config["source"]["product"]),
            ("zones plotted one by one", f"{len(shown)} of {z['zones']} ({shown['why'].iloc[0]})"),
        ],
        columns=["", ""],
    )
    per_month = tiles.pivot_table(
        index="month", columns="tile", values="creation_stamp", aggfunc="first"
    ).fillna("")
    cfg = yaml.safe_dump(config, sort_keys=False)
    style = (
        "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}</style>"
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Run summary</title>{style}"
        "</head><body><h2>Run summary</h2>"
        + facts.to_html(index=False, header=False, escape=True)
        + "<h3>Creation stamp of each tile used</h3>"
        + per_month.to_html(escape=True)
        + "<h3>Configuration</h3><pre>"
        + _escape(cfg)
        + "</pre></body></html>\n"
    )


def _escape(text: str) -> str:
    import html

    return html.escape(text)
