"""Figures for the run report (``snakemake --report``), drawn with matplotlib (Agg,
no screen needed). Which zones to draw and the tables are in :mod:`sezlights.report`.

- :func:`overview_figure`: all zones, by month and source: total sum of lights,
  quartiles of the zones' mean radiance, share of zones poorly observed and share
  of the zones' area not observed.
- :func:`timeseries_figures`: per zone, sum of lights, mean radiance and observed
  share by month, one colour per source.
- :func:`zone_maps`: per zone, its outline over the radiance around it.
- :func:`source_scatter`: EOG against Black Marble mean radiance.

"Poorly observed" means ``quality != "ok"``, the statistics table's own rule.
Figures are built on :class:`matplotlib.figure.Figure` (no pyplot state), titles are
not parsed as mathtext (a ``$`` in a zone id stays a ``$``), and each PNG carries
its title in its ``Title`` metadata (so a file named by :func:`~sezlights.labels.file_stem`
still says which zone it shows). Glyphs the installed fonts lack are drawn as boxes
(install e.g. fonts-noto-cjk for CJK ids); the title text itself is the exact id.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from . import series  # noqa: E402
from .atomic import atomic_path  # noqa: E402
from .labels import file_stems  # noqa: E402
from .report import MIN_SHARE, UNITS  # noqa: E402

DPI = 100


# --------------------------------------------------------------------------- helpers


def _with_series(table: pd.DataFrame) -> pd.DataFrame:
    """The table with a ``series`` column (:mod:`sezlights.series`: a source, or one
    satellite of a source that has several)."""
    return table.assign(series=series.keys(table)) if len(table) else table.assign(series="")


def _style(key: str, keys: Sequence[str]) -> dict:
    return {
        "color": series.colour(key),
        "ls": series.linestyle(key, keys),
        "label": series.label(key),
    }


def _month_range(months: Iterable[str]) -> list[str]:
    months = sorted(set(months))
    if not months:
        return []
    return [str(p) for p in pd.period_range(months[0], months[-1], freq="M")]


def _month_x(months: Sequence[str]) -> np.ndarray:
    """Matplotlib date numbers of the months' first days."""
    return mdates.date2num(pd.to_datetime([f"{m}-01" for m in months]).to_pydatetime())


MONTH_STEPS = (1, 2, 3, 4, 6, 12, 24, 36, 60, 120, 240)  # months between two labels


def _month_locator(step: int):
    """A tick every ``step`` months (one of :data:`MONTH_STEPS`), Januaries among them."""
    if step >= 12:  # every January of every n-th year
        return mdates.YearLocator(base=step // 12, month=1, day=1)
    return mdates.MonthLocator(bymonth=range(1, 13, step))


def _month_axis(ax, months: Sequence[str]) -> None:
    """Months labelled ``YYYY-MM``, every one the same way (a concise formatter labels a
    January by its year alone, which reads as a year, not a month), at most about a
    dozen; :func:`_thin_month_ticks` spaces them, once the figure is laid out, so that
    their labels never touch."""
    span = max(1, len(months))
    step = next((s for s in MONTH_STEPS if s >= math.ceil(span / 12)), MONTH_STEPS[-1])
    ax.xaxis.set_major_locator(_month_locator(step))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    if len(months):
        x = _month_x([months[0], months[-1]])
        ax.set_xlim(x[0] - 20, x[1] + 20)
    ax.set_xlabel("month", fontsize=8)


def _tick_labels_touch(fig: Figure, ax, gap: float = 8.0) -> bool:
    """Whether two of ``ax``'s x tick labels, as drawn, come within ``gap`` pixels."""
    renderer = _renderer(fig)
    ax.apply_aspect()  # a map's axes shrink to its aspect when drawn
    ax.get_tightbbox(renderer)  # lays the axes and its ticks out, as a draw would
    boxes = sorted(
        (t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()),
        key=lambda b: b.x0,
    )
    return any(b.x0 < a.x1 + gap for a, b in zip(boxes, boxes[1:], strict=False))


def _thin_month_ticks(fig: Figure, ax, months: Sequence[str]) -> None:
    """Fewer month labels until no two touch (a small figure, a long month range)."""
    start = next(
        (s for s in MONTH_STEPS if s >= math.ceil(max(1, len(months)) / 12)), MONTH_STEPS[-1]
    )
    for step in [s for s in MONTH_STEPS if s >= start]:
        ax.xaxis.set_major_locator(_month_locator(step))
        if not _tick_labels_touch(fig, ax):
            return


def _title(fig: Figure, text: str, y: float = 0.995) -> None:
    fig.suptitle(text, fontsize=10, y=y, parse_math=False)


def _save(fig: Figure, dest: str | Path, description: str | None = None) -> Path:
    dest = Path(dest)
    title = fig.get_suptitle()
    if not title and fig.axes:
        title = fig.axes[0].get_title()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph .* missing from")
        with atomic_path(dest, suffix=".png") as tmp:
            fig.savefig(
                tmp,
                format="png",
                dpi=DPI,
                metadata={"Title": title or None, "Description": description},
            )
    return dest


def _renderer(fig: Figure):
    """The Agg renderer the figure is saved with (to measure text as it will be drawn)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    return canvas.get_renderer()


def _footnote(fig: Figure, text: str, fontsize: float = 7, margin: float = 0.012) -> float:
    """``text`` at the foot of ``fig``, wrapped to the figure's width whatever its size
    (a footnote on one line ran off a 7.5-inch figure); returns the share of the
    figure's height it takes, for the axes to keep clear of."""
    import textwrap

    renderer = _renderer(fig)
    note = fig.text(
        margin, margin, text, fontsize=fontsize, color="#555", ha="left", va="bottom",
        parse_math=False,
    )  # fmt: skip
    room = fig.bbox.width * (1 - 2 * margin)
    width = note.get_window_extent(renderer).width
    chars = len(text)
    while width > room and chars > 10:
        chars = int(chars * min(0.95, room / width))
        note.set_text(textwrap.fill(text, chars))
        width = note.get_window_extent(renderer).width
    return note.get_window_extent(renderer).height / fig.bbox.height + margin


def _clear_of(fig: Figure, ax, bottom: float, gap: float = 0.01) -> None:
    """Raise the figure's axes until ``ax``'s tick labels and x label end above ``bottom``
    (a share of the figure's height)."""
    renderer = _renderer(fig)
    for _ in range(3):
        low = ax.get_tightbbox(renderer).y0 / fig.bbox.height
        if low >= bottom + gap:
            return
        fig.subplots_adjust(bottom=fig.subplotpars.bottom + bottom + gap - low)


def _bars(ax, x: np.ndarray, heights: np.ndarray, width: float, colour: str):
    """Bars as one PolyCollection (ax.bar makes one patch per bar: 10x slower)."""
    half = width / 2
    verts = np.stack(
        [
            np.column_stack([x - half, np.zeros_like(heights)]),
            np.column_stack([x - half, heights]),
            np.column_stack([x + half, heights]),
            np.column_stack([x + half, np.zeros_like(heights)]),
        ],
        axis=1,
    )
    return ax.add_collection(
        PolyCollection(verts, facecolors=colour, alpha=0.75, linewidths=0), autolim=False
    )


def _placeholder(title: str, text: str, dest: str | Path) -> Path:
    """A small figure that says why there is nothing to draw."""
    fig = Figure(figsize=(6.0, 2.4))
    ax = fig.subplots()
    ax.set_axis_off()
    ax.text(
        0.5,
        0.45,
        text,
        ha="center",
        va="center",
        fontsize=9,
        transform=ax.transAxes,
        parse_math=False,
        bbox={"boxstyle": "round,pad=0.8", "facecolor": "#eef2f7", "edgecolor": "#9aa9bb"},
    )
    _title(fig, title)
    return _save(fig, dest, description=text)


# --------------------------------------------------------------------------- overview


def overview_figure(table: pd.DataFrame, dest: str | Path) -> Path:
    """One PNG for all zones, by month, one line per source: total sum of lights;
    median and quartiles of the zones' mean radiance; share of zones poorly observed
    (``quality != "ok"``). See :func:`overview`."""
    return _save(overview(table), dest)


def poorly_observed(table: pd.DataFrame) -> pd.Series:
    """Per row: poorly observed, i.e. ``quality != "ok"`` (the table's own rule;
    a missing quality counts as poorly observed)."""
    return table["quality"].astype(str) != "ok"


def overview_data(table: pd.DataFrame) -> pd.DataFrame:
    """What :func:`overview` draws, per series (:mod:`sezlights.series`, in the report's
    order) and month
    (every month from the first to the last of the table): ``total`` (sum of
    lights over all zones; NaN when none observed), ``q25``, ``median``, ``q75``
    (of the zones' mean radiance), ``poorly_observed_share``: the share of the
    series' rows that month whose ``quality`` is not ``"ok"`` (see
    :func:`poorly_observed`), and ``unobserved_area_share``: 1 - Σ pixels_observed /
    Σ pixels over the zones that month (how much of all zones' area the month's
    numbers leave out), both 0 to 1."""
    table = _with_series(table)
    months = _month_range(table["month"].astype(str))
    parts = []
    for key in series.ordered(table) if len(table) else []:
        df = table[table["series"] == key]
        month = df["month"].astype(str)
        by = df.groupby(month, sort=True)
        q = by["mean"].quantile([0.25, 0.5, 0.75]).unstack()
        q = q.reindex(index=months, columns=[0.25, 0.5, 0.75])
        weight = by["pixels"].sum(min_count=1).reindex(months).to_numpy(float)
        seen = by["pixels_observed"].sum(min_count=1).reindex(months).to_numpy(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            unobserved = np.where(weight > 0, 1 - seen / weight, np.nan)
        part = pd.DataFrame(
            {
                "series": key,
                "month": months,
                "total": by["sum"].sum(min_count=1).reindex(months).to_numpy(float),
                "q25": q[0.25].to_numpy(float),
                "median": q[0.5].to_numpy(float),
                "q75": q[0.75].to_numpy(float),
                "poorly_observed_share": poorly_observed(df)
                .groupby(month)
                .mean()
                .reindex(months)
                .to_numpy(float),
                "unobserved_area_share": unobserved,
            }
        )
        parts.append(part)
    columns = [
        "series", "month", "total", "q25", "median", "q75", "poorly_observed_share",
        "unobserved_area_share",
    ]  # fmt: skip
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


OVERVIEW_NOTE = (
    'solid: zones poorly observed, quality not "ok" (some pixels or all without a '
    "cloud-free observation, or outside the coverage); dotted: share of all zones' area "
    "not observed (1 - Σ pixels_observed / Σ pixels)"
)


def overview(table: pd.DataFrame, figsize: tuple[float, float] = (7.5, 6.6)) -> Figure:
    """The overview figure (see :func:`overview_figure`); its data is
    :func:`overview_data`."""
    keys = series.ordered(table) if len(table) else []
    months = _month_range(table["month"].astype(str))
    x = _month_x(months)
    n = table["zone_id"].nunique()
    data = overview_data(table)

    fig = Figure(figsize=figsize)
    axes = fig.subplots(3, 1, sharex=True)
    for key in keys:
        d = data[data["series"] == key]
        st = _style(key, keys)
        c, ls = st["color"], st["ls"]
        axes[0].plot(x, d["total"].to_numpy(float), color=c, ls=ls, marker="o", ms=3, lw=1.5)
        axes[1].fill_between(
            x, d["q25"].to_numpy(float), d["q75"].to_numpy(float), color=c, alpha=0.18, lw=0
        )
        axes[1].plot(x, d["median"].to_numpy(float), color=c, ls=ls, marker="o", ms=3, lw=1.5)
        axes[2].plot(
            x,
            d["poorly_observed_share"].to_numpy(float) * 100,
            color=c,
            ls=ls,
            marker="o",
            ms=3,
            lw=1.5,
            label=st["label"],
        )
        axes[2].plot(x, d["unobserved_area_share"].to_numpy(float) * 100, color=c, ls=":", lw=1.2)
    axes[0].set_ylabel(f"sum of lights,\nall zones\n({UNITS} × pixels)", fontsize=8)
    axes[1].set_ylabel(f"zones' mean\nradiance ({UNITS})", fontsize=8)
    axes[2].set_ylabel("not observed (%)", fontsize=8)
    axes[2].set_ylim(-3, 103)
    handles = [Line2D([], [], lw=1.5, marker="o", ms=3, **_style(k, keys)) for k in keys]
    handles.append(
        Line2D(
            [], [], color="#888", lw=8, alpha=0.3, label="zones' mean: median, band = middle half"
        )
    )
    fig.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.955),
        ncol=3,
        fontsize=7,
        frameon=False,
    )
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    _month_axis(axes[2], months)
    _title(fig, f"All {n} zones: night lights by month")
    fig.subplots_adjust(top=0.89, bottom=0.13, left=0.14, right=0.97, hspace=0.12)
    _clear_of(fig, axes[2], _footnote(fig, OVERVIEW_NOTE))
    _thin_month_ticks(fig, axes[2], months)
    return fig


# --------------------------------------------------------------------------- time series


class _TimeseriesFigure:
    """The time series figure, built once and redrawn per zone: axes, ticks, legend
    and labels are kept, only the data artists change (4x faster than a new figure
    per zone)."""

    def __init__(self, months: Sequence[str], keys: Sequence[str], rings: bool = False):
        self.months = list(months)
        self.keys = list(keys)
        self.x = _month_x(self.months)
        fig = self.fig = Figure(figsize=(7.5, 6.4))
        axes = self.axes = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [3, 3, 2]})
        axes[0].set_ylabel(f"sum of lights\n({UNITS} × pixels)", fontsize=8)
        axes[1].set_ylabel(f"mean radiance\n({UNITS})", fontsize=8)
        axes[2].set_ylabel("observed\nshare", fontsize=8)
        axes[2].set_ylim(0, 1.05)
        axes[2].axhline(MIN_SHARE, color="#555", lw=0.8, ls="--")
        for ax in axes:
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=7)
        handles = [
            Line2D([], [], lw=1.4, marker="o", ms=3.5, **_style(k, self.keys)) for k in self.keys
        ]
        handles.append(
            Line2D(
                [],
                [],
                ls="none",
                marker="o",
                ms=5,
                mfc="none",
                mec="#555",
                label=f"hollow: observed share < {MIN_SHARE:g}",
            )
        )
        handles.append(
            Line2D([], [], color="#555", lw=0.8, ls="--", label=f"observed share {MIN_SHARE:g}")
        )
        if rings:
            handles.append(Line2D([], [], color="#555", **RING_STYLE, label=RING_LEGEND))
        rows = 1 if len(handles) <= 5 else 2
        fig.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, 0.955),
            ncol=math.ceil(len(handles) / rows),
            fontsize=7,
            frameon=False,
        )
        _month_axis(axes[2], self.months)
        self.xlim = axes[2].get_xlim()
        _title(fig, "")
        top = 0.89 if rows == 1 else 0.86
        fig.subplots_adjust(top=top, bottom=0.08, left=0.13, right=0.97, hspace=0.1)
        _thin_month_ticks(fig, axes[2], self.months)
        self.artists: list = []

    def draw(self, zone: pd.DataFrame, zone_id: str) -> Figure:
        for artist in self.artists:
            artist.remove()
        self.artists = []
        axes, x = self.axes, self.x
        if "series" not in zone:
            zone = _with_series(zone)
        zone, rings = _split_rings(zone)
        present = set(zone["series"])
        shown = [k for k in self.keys if k in present]
        width = 24.0 / max(1, len(self.keys))
        ms = 3.5 if len(self.months) <= 60 else 2.4
        for key in shown:
            k = self.keys.index(key)
            df = zone[zone["series"] == key].drop_duplicates("month").set_index("month")
            df = df.reindex(self.months)
            st = _style(key, self.keys)
            c, ls = st["color"], st["ls"]
            share = df["observed_share"].to_numpy(float)
            poor = ~(share >= MIN_SHARE)  # NaN share counts as poor
            for ax, col in ((axes[0], "sum"), (axes[1], "mean")):
                y = df[col].to_numpy(float)
                self.artists += ax.plot(x, y, color=c, ls=ls, lw=1.4, alpha=0.9)
                self.artists += ax.plot(
                    x, np.where(poor, np.nan, y), ls="none", marker="o", ms=ms, color=c
                )
                self.artists += ax.plot(
                    x,
                    np.where(poor, y, np.nan),
                    ls="none",
                    marker="o",
                    ms=ms + 1.5,
                    mfc="none",
                    mec=c,
                    mew=1.0,
                    alpha=0.6,
                )
            offset = (k - (len(self.keys) - 1) / 2) * width
            ok = np.isfinite(share)
            self.artists.append(_bars(axes[2], x[ok] + offset, share[ok], width, c))
        self.artists += _draw_rings(axes[1], x, self.months, rings, self.keys)
        for ax in axes[:2]:
            ax.relim()
            if np.isfinite(ax.dataLim.get_points()[:, 1]).all():
                ax.autoscale_view(scalex=False)
            else:  # nothing observed in any month: no scale of the previous zone
                ax.set_ylim(0, 1, auto=True)
        axes[2].set_xlim(self.xlim)
        _title(self.fig, str(zone_id))
        return self.fig


# a zone's rings in its mean-radiance panel: thinner, dotted, fading with distance
RING_STYLE = {"lw": 1.0, "ls": ":", "marker": "."}
RING_LEGEND = "rings around the zone (mean radiance; km from its outline)"


def _split_rings(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A zone's own rows and its rings' (``zone_kind``; a table without it has none)."""
    if "zone_kind" not in rows:
        return rows, rows.iloc[0:0]
    ring = rows["zone_kind"].astype(str) == "ring"
    return rows[~ring], rows[ring]


def _ring_label(row) -> str:
    return f"{row.ring_inner_km:g}-{row.ring_outer_km:g} km"


def _draw_rings(ax, x, months, rings: pd.DataFrame, keys: Sequence[str]) -> list:
    """Each ring's mean radiance by month, per series in its colour, labelled at its
    last value by its distances."""
    artists: list = []
    if rings.empty:
        return artists
    order = rings.drop_duplicates("zone_id").sort_values("ring_inner_km")
    n = len(order)
    labelled = set()  # each ring labelled once, at the end of its first series' line
    for key in [k for k in keys if k in set(rings["series"])]:
        colour = series.colour(key)
        for i, ring in enumerate(order.itertuples(index=False)):
            rows = rings[(rings["zone_id"] == ring.zone_id) & (rings["series"] == key)]
            y = rows.drop_duplicates("month").set_index("month")["mean"].reindex(months)
            y = y.to_numpy(float)
            alpha = 0.85 - 0.5 * i / max(1, n - 1)
            artists += ax.plot(x, y, color=colour, alpha=alpha, ms=3, **RING_STYLE)
            last = np.flatnonzero(np.isfinite(y))
            if last.size and ring.zone_id not in labelled:
                labelled.add(ring.zone_id)
                j = last[-1]
                artists.append(
                    ax.annotate(
                        _ring_label(ring),
                        (x[j], y[j]),
                        xytext=(4, 0),
                        textcoords="offset points",
                        fontsize=6,
                        color=colour,
                        va="center",
                    )
                )
    return artists


def timeseries_figure(zone: pd.DataFrame, zone_id: str, months: Sequence[str]) -> Figure:
    """The time series figure of one zone (its rows of the table) over ``months``.

    Panels: sum of lights, mean radiance (one line per series: a source, or each
    satellite of a source with several, legend) and observed share (bars, per series).
    Months with an observed share below 0.5 are drawn as hollow, faded markers (a
    legend entry says so); months with nothing observed (NaN) leave gaps. The zone's
    rings (rows with ``zone_kind`` ring) are drawn in the mean-radiance panel, dotted,
    each labelled by its distances. The figure's suptitle is the zone id exactly.
    """
    zone = _with_series(zone)
    rings = not _split_rings(zone)[1].empty
    return _TimeseriesFigure(months, series.ordered(zone), rings).draw(zone, zone_id)


def timeseries_figures(
    table: pd.DataFrame,
    outdir: str | Path,
    zone_ids: Sequence[str] | None = None,
    workers: int = 1,
) -> list[Path]:
    """One PNG per zone, ``<file_stem(zone_id)>.png`` in ``outdir``, for the zones in
    ``zone_ids`` (all zones when None; an id with no rows gets an empty figure), in
    that order, each with its rings (the rows whose ``parent_id`` is the zone's id);
    x axis: every month of the table. The figure's title (and the PNG's ``Title``
    metadata) is the zone id as it is.

    About 0.12 s a figure (one figure object is redrawn per zone; Agg's text
    drawing is most of what is left): 50 zones x 175 months x 2 sources took
    5.7 s in one process and 3.0 s with ``workers=2`` (2-core machine; a new
    figure per zone with ``ax.bar`` took 17 s). ``workers`` > 1 draws in that many
    processes (e.g. the rule's ``threads``).
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    table = _with_series(table)
    # a zone's figure holds its rings (their parent_id is the zone's id)
    ids = table["parent_id" if "parent_id" in table else "zone_id"].astype(str)
    months = _month_range(table["month"].astype(str))
    rings = not _split_rings(table)[1].empty
    if zone_ids is None:
        zone_ids = sorted(set(ids))
    zone_ids = list(dict.fromkeys(str(z) for z in zone_ids))
    stems = file_stems(zone_ids)
    wanted = set(zone_ids)
    table = table[ids.isin(wanted)]
    groups = {z: g for z, g in table.groupby(ids[table.index], sort=False)}
    empty = table.iloc[0:0]
    jobs = [(z, groups.get(z, empty), outdir / f"{stems[z]}.png") for z in zone_ids]
    keys = series.ordered(table) if len(table) else []
    workers = max(1, min(int(workers), len(jobs)))
    if workers == 1:
        return _draw_timeseries(months, keys, jobs, rings)
    from concurrent.futures import ProcessPoolExecutor

    chunks = [jobs[k::workers] for k in range(workers)]
    with ProcessPoolExecutor(max_workers=workers, initializer=_quiet_on_ctrl_c) as pool:
        list(
            pool.map(
                _draw_timeseries, [months] * workers, [keys] * workers, chunks, [rings] * workers
            )
        )
    return [dest for _, _, dest in jobs]


def _quiet_on_ctrl_c() -> None:
    """A drawing process ends at once on Ctrl-C, without a traceback (the job itself says
    it was interrupted: sezlights.job)."""
    import os
    import signal

    signal.signal(signal.SIGINT, lambda *_: os._exit(130))


def _draw_timeseries(
    months: Sequence[str],
    keys: Sequence[str],
    jobs: Sequence[tuple[str, pd.DataFrame, Path]],
    rings: bool = False,
) -> list[Path]:
    canvas = _TimeseriesFigure(months, keys, rings)
    return [_save(canvas.draw(zone, zone_id), dest) for zone_id, zone, dest in jobs]


# --------------------------------------------------------------------------- maps


def _rings(geom) -> list[np.ndarray]:
    import shapely

    rings = []
    for part in shapely.get_parts(geom):
        if part.geom_type == "Polygon":
            rings.append(np.asarray(part.exterior.coords))
            rings.extend(np.asarray(r.coords) for r in part.interiors)
        elif part.geom_type in ("LineString", "LinearRing"):
            rings.append(np.asarray(part.coords))
        elif part.geom_type == "GeometryCollection" or part.geom_type.startswith("Multi"):
            rings.extend(_rings(part))
    return rings


def zone_map_figure(
    zone_id: str,
    geom,
    data: np.ndarray,
    bounds: tuple[float, float, float, float],
    month: str,
) -> Figure:
    """One zone's outline over the radiance around it. ``data`` may be coarser than
    the source grid (decimated): it is drawn over ``bounds`` (left, bottom, right, top)."""
    left, bottom, right, top = bounds
    data = np.ma.filled(np.ma.asarray(data, dtype=float), np.nan)
    fig = Figure(figsize=(5.4, 4.6))
    _renderer(fig)  # an Agg canvas: the x ticks are thinned by measuring their labels
    ax = fig.subplots()
    finite = data[np.isfinite(data)]
    vmax = float(np.percentile(finite, 99)) if finite.size else 1.0
    im = ax.imshow(
        data,
        extent=(left, right, bottom, top),
        cmap=matplotlib.colormaps["magma"].with_extremes(bad="#c8c8c8"),
        vmin=0,
        vmax=max(vmax, 1e-6),
        interpolation="nearest",
        origin="upper",
    )
    for ring in _rings(_in_frame(geom, (left + right) / 2)):
        ax.plot(ring[:, 0], ring[:, 1], color="#00e5ff", lw=1.5)
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    ax.xaxis.set_major_formatter(_Longitudes())
    mid = math.radians((top + bottom) / 2)
    ax.set_aspect(1 / max(math.cos(mid), 0.1))
    cb = fig.colorbar(im, ax=ax, shrink=0.85)
    cb.set_label(
        f"radiance ({UNITS})" + ("\ngrey: no data" if finite.size < data.size else ""), fontsize=8
    )
    cb.ax.tick_params(labelsize=7)
    title = ax.set_title(f"{zone_id}\n{month}", fontsize=10, parse_math=False)
    ax.set_xlabel("longitude (°)", fontsize=8)
    ax.set_ylabel("latitude (°)", fontsize=8)
    ax.tick_params(labelsize=7)
    _thin_ticks(fig, ax)
    _fit_width(fig, title)
    return fig


def _in_frame(geom, centre: float):
    """``geom`` with each part moved by whole turns of 360 degrees nearest the frame's
    centre longitude, and joined: a zone across the antimeridian, framed across it
    (crops.unwrapped), is drawn as one outline at 180.2 rather than halves at -179.8."""
    import shapely
    import shapely.affinity

    parts = [
        shapely.affinity.translate(p, xoff=360.0 * round((centre - p.centroid.x) / 360.0))
        for p in shapely.get_parts(geom)
    ]
    return shapely.union_all(parts) if len(parts) > 1 else (parts[0] if parts else geom)


def _fit_width(fig: Figure, text, margin: float = 4.0) -> None:
    """Wrap ``text`` (an artist) until it lies within the figure's width (a source's
    label with the month ran off a map: "5A Black Marble monthly ..."). Its first line
    (a zone id, exactly as written) is kept whole; the lines after it are wrapped."""
    import textwrap

    renderer = _renderer(fig)
    for ax in fig.axes:
        ax.apply_aspect()
    first, *rest = text.get_text().split("\n")
    width = max((len(line) for line in rest), default=0)
    while width > 12:
        box = text.get_window_extent(renderer)
        if box.x0 >= margin and box.x1 <= fig.bbox.width - margin:
            return
        width = int(width * 0.9)
        text.set_text("\n".join([first, *(textwrap.fill(line, width) for line in rest)]))


class _Longitudes(matplotlib.ticker.Formatter):
    """Longitude ticks: within -180..180 (a frame across the antimeridian runs past it),
    every label with the same number of decimals, as few as the ticks need."""

    def format_ticks(self, values):
        values = [float(v) for v in values]
        decimals = next(
            (d for d in range(7) if all(abs(v * 10**d - round(v * 10**d)) < 1e-6 for v in values)),
            6,
        )
        out = []
        for v in values:
            wrapped = (v + 180.0) % 360.0 - 180.0
            if abs(wrapped + 180.0) < 1e-9 and v > 0:
                wrapped = 180.0
            out.append(f"{wrapped:.{decimals}f}".replace("-", "\N{MINUS SIGN}"))
        return out

    def __call__(self, x, pos=None):
        return self.format_ticks([x])[0]


def _thin_ticks(fig: Figure, ax, most: int = 7) -> None:
    """Fewer x ticks until no two labels touch ("-93.50-93.25" on a narrow map); on a map
    too narrow for two level labels, upright ones."""
    from matplotlib.ticker import MaxNLocator

    for rotation in (0, 90):
        ax.tick_params(axis="x", labelrotation=rotation)
        for n in range(most, 1, -1):
            ax.xaxis.set_major_locator(MaxNLocator(nbins=n, steps=[1, 2, 2.5, 5, 10]))
            if not _tick_labels_touch(fig, ax):
                return
    ax.xaxis.set_major_locator(MaxNLocator(nbins=1, min_n_ticks=1))  # one label fits


def zone_maps(
    zones,
    crops: Sequence[tuple[np.ndarray, tuple[float, float, float, float]]],
    month: str,
    outdir: str | Path,
) -> list[Path]:
    """One PNG per zone, ``<file_stem(zone_id)>.png``: its outline over the radiance
    around it, with a colour bar in nW/cm²/sr.

    ``zones`` has columns ``zone_id`` and ``geometry`` (a GeoDataFrame); ``crops``
    holds, per zone in the same order, the radiance array around it and its bounds
    (left, bottom, right, top). The array may be decimated; the bounds set the extent.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    ids = [str(z) for z in zones["zone_id"]]
    stems = file_stems(ids)
    written = []
    for zone_id, geom, (data, bounds) in zip(ids, zones.geometry, crops, strict=True):
        fig = zone_map_figure(zone_id, geom, data, bounds, month)
        written.append(_save(fig, outdir / f"{stems[zone_id]}.png"))
    return written


# --------------------------------------------------------------------------- comparisons


def observed_means(table: pd.DataFrame) -> pd.DataFrame:
    """Zone-months observed well (quality ok or partly_observed, observed share >= 0.5),
    one mean radiance per zone, month and series: columns zone_id, month, series, mean."""
    table = _with_series(table)
    good = (
        table["quality"].astype(str).isin(["ok", "partly_observed"])
        & (table["observed_share"] >= MIN_SHARE)
        & table["mean"].notna()
    )
    t = table.loc[good, ["zone_id", "month", "series", "mean"]]
    return t.drop_duplicates(["zone_id", "month", "series"])


def series_pairs(table: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Zone-months observed well by both series ``x`` and ``y`` (see
    :func:`observed_means`): columns zone_id, month, x, y (their mean radiance)."""
    means = observed_means(table)
    a = means[means["series"] == x][["zone_id", "month", "mean"]].rename(columns={"mean": "x"})
    b = means[means["series"] == y][["zone_id", "month", "mean"]].rename(columns={"mean": "y"})
    return a.merge(b, on=["zone_id", "month"])


def compared_sources(table: pd.DataFrame) -> tuple[str, str] | None:
    """The two series the sources' scatter compares: the first two sources (in the
    report's order), each by its series sharing a satellite with the other if any (EOG
    and Black Marble's Suomi NPP), else its first. None with fewer than two sources."""
    if not len(table):
        return None
    keys = series.ordered(table)
    by_source: dict[str, list[str]] = {}
    for k in keys:
        by_source.setdefault(k.partition("/")[0], []).append(k)
    if len(by_source) < 2:
        return None
    (sa, ka), (sb, kb) = list(by_source.items())[:2]
    sat = {
        s: set(table.loc[table["source"].astype(str) == s, "satellite"].astype(str))
        for s in (sa, sb)
    }
    common = sorted(sat[sa] & sat[sb], key=lambda v: series.satellite_order(v))

    def pick(keys_of, source):
        if common and len(keys_of) > 1:
            for k in keys_of:
                if k.partition("/")[2] == common[0]:
                    return k
        return keys_of[0]

    return pick(ka, sa), pick(kb, sb)


def source_scatter(table: pd.DataFrame, dest: str | Path) -> Path:
    """The first two sources' mean radiance against each other, per zone-month observed
    by both (see :func:`compared_sources`, :func:`pair_scatter`)."""
    pair = compared_sources(table)
    if pair is None:
        shown = " and ".join(series.source_label(s) for s in series.sources_in(table))
        return _placeholder(
            "Sources compared",
            "needs two sources;\nthis run has " + (shown or "no source"),
            dest,
        )
    return pair_scatter(table, *pair, dest)


def pair_scatter(table: pd.DataFrame, x: str, y: str, dest: str | Path) -> Path:
    """Series ``y``'s mean radiance against series ``x``'s, per zone-month observed by
    both (see :func:`series_pairs`), log-log with the 1:1 line. The title gives the
    Spearman rank correlation over all those pairs, the median ratio y/x over the pairs
    with both means > 0 and, with its own n, the Pearson correlation of log10(mean) over
    them. Black Marble stores composites below 0.5 nW/cm²/sr as 0, so dark zones have
    mean 0 there: they count in the rank correlation, but cannot be drawn on log axes
    (left out, counted in a note). Beyond 20,000 pairs the points become a hexagon
    density plot. With fewer than 3 pairs, or fewer than 3 to draw, the figure says so."""
    xl, yl = series.label(x), series.label(y)
    title = f"{xl} vs {yl} mean radiance"
    pairs = series_pairs(table, x, y)
    n_all = len(pairs)
    # DataFrame.corr ranks in pandas itself (Series.corr's spearman needs scipy)
    rho = float(pairs[["x", "y"]].corr(method="spearman").iloc[0, 1]) if n_all >= 3 else np.nan
    rho_text = f"{rho:.3f}" if np.isfinite(rho) else "n/a (one series' values all tie)"
    positive = (pairs["x"] > 0) & (pairs["y"] > 0)
    dropped = int((~positive).sum())
    pairs = pairs[positive]
    n = len(pairs)
    if n < 3:
        if n_all < 3:
            why = (
                f"only {n_all} zone-month(s) observed by both\n"
                f"(quality ok or partly_observed, observed share ≥ {MIN_SHARE:g}):\n"
                "too few to compare"
            )
        else:
            why = (
                f"Spearman ρ = {rho_text} over all {n_all} zone-months observed by both;\n"
                f"only {n} of them have both means > 0 (Black Marble stores values\n"
                "below 0.5 as 0): too few to draw on log axes"
            )
        return _placeholder(title, why, dest)
    fig = Figure(figsize=(5.6, 5.4))
    ax = fig.subplots()
    xv = pairs["x"].to_numpy(float)
    yv = pairs["y"].to_numpy(float)
    r = float(np.corrcoef(np.log10(xv), np.log10(yv))[0, 1])
    ratio = float(np.median(yv / xv))
    lo = float(min(xv.min(), yv.min())) / 1.5
    hi = float(max(xv.max(), yv.max())) * 1.5
    if n > 20_000:
        hb = ax.hexbin(
            xv,
            yv,
            xscale="log",
            yscale="log",
            bins="log",
            gridsize=70,
            cmap="viridis",
            mincnt=1,
            extent=(math.log10(lo), math.log10(hi), math.log10(lo), math.log10(hi)),
        )
        fig.colorbar(hb, ax=ax, shrink=0.8).set_label("zone-months", fontsize=8)
    else:
        ax.scatter(xv, yv, s=9, alpha=0.45 if n > 500 else 0.8, color=series.colour(x), lw=0)
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.plot([lo, hi], [lo, hi], color="#555", lw=1, ls="--", label="1:1")
    ax.plot(
        [lo, hi], [lo * ratio, hi * ratio], color="#b71c1c", lw=1, ls=":",
        label=f"median ratio {ratio:.3g}",
    )  # fmt: skip
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel(f"{xl} mean radiance ({UNITS})", fontsize=8)
    ax.set_ylabel(f"{yl} mean radiance ({UNITS})", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="upper left")
    if dropped:
        ax.text(
            0.99,
            0.01,
            f"{dropped} pair(s) with a mean ≤ 0 not shown (counted in ρ)",
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=7,
            color="#555",
        )
    _title(
        fig,
        f"{title}\n"
        f"Spearman ρ = {rho_text} over all {n_all} zone-months observed by both\n"
        f"n = {n} with both means > 0: median ratio {ratio:.3g}, Pearson r of log10 = {r:.3f}",
    )
    fig.subplots_adjust(top=0.84)
    return _save(fig, dest)


def overlap_by_zone(table: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Per zone, over the months both series observed it well (:func:`series_pairs`):
    ``months``, ``months_both_dark`` (both means 0), the ratio y/x over the months with
    both means > 0 as ``median_ratio``, ``ratio_p25``, ``ratio_p75`` and
    ``relative_spread`` ((p75 - p25) / median: how steady the ratio is, the lower the
    better a joined series), and ``spearman`` over the months (with at least 3).
    Sorted by relative spread, steadiest first; zones never observed by both last."""
    pairs = series_pairs(table, x, y)
    rows = []
    for zone_id, g in pairs.groupby("zone_id", sort=True):
        both = g[(g["x"] > 0) & (g["y"] > 0)]
        ratio = (both["y"] / both["x"]).to_numpy(float)
        q25, med, q75 = np.percentile(ratio, [25, 50, 75]) if ratio.size else [np.nan] * 3
        rho = float(g[["x", "y"]].corr(method="spearman").iloc[0, 1]) if len(g) >= 3 else np.nan
        rows.append(
            {
                "zone_id": zone_id,
                "months": len(g),
                "months_both_dark": int(((g["x"] == 0) & (g["y"] == 0)).sum()),
                "median_ratio": med,
                "ratio_p25": q25,
                "ratio_p75": q75,
                "relative_spread": (q75 - q25) / med if ratio.size and med > 0 else np.nan,
                "spearman": rho,
            }
        )
    out = pd.DataFrame(
        rows,
        columns=[
            "zone_id", "months", "months_both_dark", "median_ratio", "ratio_p25", "ratio_p75",
            "relative_spread", "spearman",
        ],
    )  # fmt: skip
    zones = pd.DataFrame({"zone_id": sorted(set(table["zone_id"].astype(str)))})
    out = zones.merge(out, on="zone_id", how="left")
    out["months"] = out["months"].fillna(0).astype("int64")
    out["months_both_dark"] = out["months_both_dark"].fillna(0).astype("int64")
    return out.sort_values(["relative_spread", "zone_id"], na_position="last", kind="stable")


def satellite_pair(table: pd.DataFrame, source: str) -> tuple[str, str] | None:
    """``source``'s first two satellite series (Black Marble: Suomi NPP, NOAA-20)."""
    if not len(table):
        return None
    keys = [k for k in series.ordered(table) if k.partition("/")[0] == source]
    keys = [k for k in keys if "/" in k]
    return (keys[0], keys[1]) if len(keys) >= 2 else None


# --------------------------------------------------------------------------- event study


EVENT_COLUMNS = ["series", "kind", "months_since_start", "mean", "zones"]


def event_study_data(table: pd.DataFrame, window: int | None = None) -> pd.DataFrame:
    """What :func:`event_study_figure` draws: per series, area kind (``zone``, or
    ``first ring``: each zone's nearest ring) and months since the zone's start (within
    ``window`` months of it, if given), the mean over zones of their mean radiance, and
    how many zones that mean rests on (``zones``: those observed that month, a zone's
    ring counted for its zone). Rows with no start date or nothing observed are left
    out."""
    t = table
    if "months_since_start" not in t or t.empty:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    keep = t["months_since_start"].notna() & t["mean"].notna()
    if window is not None:
        keep &= t["months_since_start"].abs() <= window
    t = _with_series(t[keep])
    kind = t["zone_kind"].astype(str)
    first = t[kind == "ring"].groupby("parent_id")["ring_inner_km"].transform("min")
    nearest = t.loc[first.index, "ring_inner_km"] == first
    t = pd.concat(
        [
            t[kind == "zone"].assign(kind="zone"),
            t.loc[nearest[nearest].index].assign(kind="first ring"),
        ]
    )
    if t.empty:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    t = t.assign(months_since_start=t["months_since_start"].astype(int))
    out = (
        t.groupby(["series", "kind", "months_since_start"], sort=True)
        .agg(mean=("mean", "mean"), zones=("parent_id", "nunique"))
        .reset_index()
    )
    return out[EVENT_COLUMNS]


def event_study_figure(table: pd.DataFrame, dest: str | Path, window: int = 36) -> Path:
    """Mean radiance by months since each zone's start (``window`` months either side),
    the zones against their first ring, per series (a source, or a satellite of it),
    with the number of zones behind each point below; a placeholder figure says why
    when nothing can be drawn."""
    data = event_study_data(table, window)
    title = "Event study: mean radiance by months since each zone's start"
    if data.empty:
        return _placeholder(
            title,
            f"No zone-month within {window} months of its zone's start (zones.start_field) "
            "has an observed mean (report.event_window_months).",
            dest,
        )
    keys = [k for k in series.ordered(table) if k in set(data["series"])]
    fig = Figure(figsize=(7.5, 5.6))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.4]})
    width = 0.8 / max(1, len(keys))
    # a series' colour and line style; zones filled circles, their first rings hollow
    # squares on a fainter line
    kinds = {
        "zone": {"marker": "o", "alpha": 0.95},
        "first ring": {"marker": "s", "mfc": "none", "alpha": 0.6},
    }
    for i, key in enumerate(keys):
        st = _style(key, keys)
        for kind, look in kinds.items():
            d = data[(data["series"] == key) & (data["kind"] == kind)]
            if d.empty:
                continue
            # every month from the first to the last: a month with no zone is a gap
            k = d["months_since_start"].astype(int)
            span = np.arange(k.min(), k.max() + 1)
            y = d.set_index(k)["mean"].reindex(span).to_numpy(float)
            top.plot(span, y, color=st["color"], ls=st["ls"], ms=3.5, lw=1.3, **look)
        z = data[(data["series"] == key) & (data["kind"] == "zone")]
        offset = (i - (len(keys) - 1) / 2) * width
        _bars(bottom, z["months_since_start"].to_numpy(float) + offset,
              z["zones"].to_numpy(float), width, st["color"])  # fmt: skip
    handles = [Line2D([], [], lw=1.3, **_style(k, keys)) for k in keys]
    handles += [
        Line2D([], [], color="#555", ls="none", ms=4, label="zones", **kinds["zone"]),
        Line2D(
            [], [], color="#555", ls="none", ms=4, label="their first rings", **kinds["first ring"]
        ),  # fmt: skip
    ]
    xs = data["months_since_start"].to_numpy(float)
    bottom.set_xlim(xs.min() - 1, xs.max() + 1)
    bottom.set_ylim(0, max(1.0, float(data["zones"].max())) * 1.15)
    for ax in (top, bottom):
        ax.axvline(0, color="#555", lw=0.8, ls="--")
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    top.set_ylabel(f"mean radiance over zones\n({UNITS})", fontsize=8)
    bottom.set_ylabel("zones behind\neach point", fontsize=8)
    bottom.set_xlabel("months since the zone's start (0: its start month)", fontsize=8)
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.95),
               ncol=math.ceil(len(handles) / 2), fontsize=7, frameon=False)  # fmt: skip
    _title(fig, title)
    fig.subplots_adjust(top=0.84, bottom=0.1, left=0.13, right=0.97, hspace=0.08)
    return _save(fig, dest)
