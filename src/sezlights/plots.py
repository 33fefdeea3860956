"""Figures and tables for the run report (``snakemake --report``).

Plots are made with matplotlib (Agg backend, no screen needed): per zone, a
time series of sum of lights and mean radiance with poorly observed months
marked, and a map of the zone's outline over the latest month's mosaic.
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


def timeseries_figures(table: pd.DataFrame, outdir: str | Path) -> list[Path]:
    """One PNG per zone: sum of lights and mean radiance by month."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
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
        locator = (
            mdates.MonthLocator(interval=max(1, span // 12))
            if span <= 36
            else mdates.AutoDateLocator(minticks=3, maxticks=12)
        )
        axes[1].xaxis.set_major_locator(locator)
        axes[1].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        axes[1].set_xlabel("month")
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
    zones_summary: str | Path, config: dict, months: list[str], tiles: pd.DataFrame
) -> str:
    """A plain HTML page: zones file and checksum, months, tiles per month, config."""
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
