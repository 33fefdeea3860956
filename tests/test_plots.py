"""The report's figures: real PNGs written and looked at (not empty), named per zone
id without collisions, titled with the raw id, drawn by the table's own rules."""

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from shapely.geometry import MultiPolygon, Polygon

from sezlights import plots, table
from sezlights.labels import file_stem

MONTHS = tuple(f"2019-{m:02d}" for m in range(1, 13))


def stats(zone_ids, months=MONTHS, sources=("eog", "blackmarble"), seed=0):
    """A statistics table with every column, as sezlights.table writes it: each zone
    has its brightness, a few partly observed months, one month with no cloud-free
    pixel and (for Black Marble) one month missing altogether."""
    rng = np.random.default_rng(seed)
    rows = []
    for z, zone_id in enumerate(zone_ids):
        for i, month in enumerate(months):
            for source in sources:
                if source == "blackmarble" and i == 4:
                    continue  # no row at all: a gap
                share = 1.0 if i % 5 else 0.3
                if i == 7:
                    share = 0.0
                mean = (z + 1) * (1 + 0.05 * i) * (1.2 if source == "blackmarble" else 1.0)
                mean *= rng.lognormal(0, 0.05)
                observed = share > 0
                quality = "ok" if share == 1 else "partly_observed" if observed else "no_cloud_free"
                rows.append(
                    {
                        "zone_id": zone_id,
                        "month": month,
                        "source": source,
                        "satellite": "npp",
                        "product": "VNP46A3" if source == "blackmarble" else "vcmcfg",
                        "zone_kind": "zone",
                        "parent_id": zone_id,
                        "shape": "polygon",
                        "area_km2": 12.5,
                        "pixels": 60.0,
                        "pixels_observed": 60.0 * share,
                        "observed_share": share,
                        "sum": mean * 60 * share if observed else np.nan,
                        "mean": mean if observed else np.nan,
                        "median": mean if observed else np.nan,
                        "min": mean / 2 if observed else np.nan,
                        "max": mean * 2 if observed else np.nan,
                        "std": mean / 4 if observed else np.nan,
                        "cf_cvg_mean": 6.0 * share,
                        "cf_cvg_min": 0.0,
                        "quality": quality,
                    }
                )
    return pd.DataFrame(rows, columns=table.COLUMNS)


def roundtrip(df, tmp_path):
    """Through the real CSV writer and reader, as the workflow passes tables."""
    path = tmp_path / "zonal_stats.csv"
    table.write(df, path)
    return table.read(path)


def looks_drawn(png, min_height=200):
    img = mpimg.imread(png)
    assert img.shape[0] > min_height and img.shape[1] > 300, png
    assert img[..., :3].std() > 0.05, f"{png} looks empty"
    return img


def png_title(png):
    with Image.open(png) as im:
        return im.text["Title"]


ODD_IDS = ["SEZ/North", "SEZ North", "Zürich-Ω", "Zurich-O", "NA", " padded ", "a$x$b", "z<1>"]


def test_overview_figure_is_drawn_for_two_sources_and_one(tmp_path):
    t = roundtrip(stats([f"z{i}" for i in range(30)]), tmp_path)
    png = plots.overview_figure(t, tmp_path / "overview.png")
    assert png == tmp_path / "overview.png"
    looks_drawn(png, 400)
    assert png_title(png) == "All 30 zones: night lights by month"
    one = plots.overview_figure(t[t.source == "eog"], tmp_path / "eog.png")
    looks_drawn(one, 400)


def test_overview_counts_poorly_observed_by_quality_only():
    """quality != "ok" and nothing else (not the cloud-free count)."""
    t = stats(["a", "b"], sources=("eog",))
    t.loc[t.month == "2019-02", "cf_cvg_mean"] = 0.1  # few observations but "ok"
    fig = plots.overview(t)
    line, area = fig.axes[2].get_lines()  # solid: the quality rule; dotted: the area
    share = dict(zip(MONTHS, line.get_ydata(), strict=True))
    assert share["2019-02"] == 0  # quality ok
    assert share["2019-06"] == 100  # partly_observed (share 0.3)
    assert share["2019-08"] == 100  # no_cloud_free
    unobserved = dict(zip(MONTHS, area.get_ydata(), strict=True))
    assert area.get_linestyle() == ":"
    assert unobserved["2019-02"] == 0
    assert unobserved["2019-06"] == pytest.approx(70)  # 1 - Σ pixels_observed / Σ pixels
    assert unobserved["2019-08"] == pytest.approx(100)
    total = fig.axes[0].get_lines()[0].get_ydata()
    assert np.isnan(total[7])  # no zone observed: a gap, not 0


def test_timeseries_files_are_unique_per_id_and_titled_with_the_raw_id(tmp_path):
    t = roundtrip(stats(ODD_IDS), tmp_path)
    assert set(t.zone_id) == set(ODD_IDS)  # the CSV kept every id as it is
    written = plots.timeseries_figures(t, tmp_path / "ts", ODD_IDS)
    assert [p.name for p in written] == [f"{file_stem(z)}.png" for z in ODD_IDS]
    assert len({p.name.lower() for p in written}) == len(ODD_IDS)
    assert sorted(p.name for p in (tmp_path / "ts").iterdir()) == sorted(p.name for p in written)
    for zone_id, png in zip(ODD_IDS, written, strict=True):
        looks_drawn(png, 400)
        assert png_title(png) == zone_id


def test_timeseries_figure_marks_poor_months_and_leaves_gaps():
    t = stats(["a$x$b"])
    fig = plots.timeseries_figure(t, "a$x$b", list(MONTHS))
    assert fig.get_suptitle() == "a$x$b" and not fig._suptitle.get_parse_math()
    legend = [x.get_text() for x in fig.legends[0].get_texts()]
    assert legend[:2] == ["EOG", "Black Marble"]
    assert "hollow: observed share < 0.5" in legend
    ax_sum, ax_mean, ax_share = fig.axes
    eog = t[t.source == "eog"].reset_index(drop=True)
    line, filled, hollow = ax_mean.get_lines()[:3]  # EOG: line, share >= 0.5, share < 0.5
    np.testing.assert_allclose(line.get_ydata(), eog["mean"], equal_nan=True)
    poor = eog.observed_share < 0.5
    assert list(np.isfinite(hollow.get_ydata())) == list(poor & eog["mean"].notna())
    assert list(np.isfinite(filled.get_ydata())) == list(~poor)
    assert hollow.get_markerfacecolor() == "none"
    assert np.isnan(line.get_ydata()[7])  # nothing observed: a gap
    bm_line = ax_mean.get_lines()[3]
    assert np.isnan(bm_line.get_ydata()[4])  # no row for that month: a gap
    assert len(ax_share.collections) == 2  # observed share bars, one set per source


def test_a_zone_with_nothing_observed_does_not_keep_the_last_zones_scale(tmp_path):
    t = stats(["dim", "dark", "bright"])  # means about 1-2, none, 3-6
    t.loc[t.zone_id == "dark", ["sum", "mean", "observed_share"]] = np.nan
    canvas = plots._TimeseriesFigure(list(MONTHS), ["eog", "blackmarble"])  # reused per zone
    limits = {}
    for zone_id in ("bright", "dark", "dim"):
        fig = canvas.draw(t[t.zone_id == zone_id], zone_id)
        assert fig.get_suptitle() == zone_id
        limits[zone_id] = fig.axes[1].get_ylim()
    assert limits["dark"] == (0, 1)
    assert limits["dim"][1] < limits["bright"][0]


def test_timeseries_in_two_processes_writes_the_same_files(tmp_path):
    t = stats([f"z{i}" for i in range(5)])
    one = plots.timeseries_figures(t, tmp_path / "one", None)
    two = plots.timeseries_figures(t, tmp_path / "two", None, workers=2)
    assert [p.name for p in one] == [p.name for p in two]
    for png in two:
        looks_drawn(png, 400)


def test_many_zones_by_175_months_are_all_drawn(tmp_path):
    """A long run (175 months) of many zones: one overview and a chart per zone (how long
    they take is bench's job, not a test's)."""
    months = [str(p) for p in pd.period_range("2012-04", periods=175, freq="M")]
    t = stats([f"z{i:02d}" for i in range(8)], months=months)
    plots.overview_figure(t, tmp_path / "overview.png")
    written = plots.timeseries_figures(t, tmp_path / "ts")
    assert len(written) == 8
    looks_drawn(tmp_path / "overview.png", 400)
    for png in written:
        looks_drawn(png, 400)


def test_zone_maps_use_the_bounds_of_decimated_crops(tmp_path):
    square = Polygon(
        [(36.9, -1.45), (37.05, -1.45), (37.05, -1.3), (36.9, -1.3)],
        [[(36.95, -1.4), (37.0, -1.4), (37.0, -1.35), (36.95, -1.35)]],
    )
    two = MultiPolygon(
        [
            Polygon([(10, 59), (10.2, 59), (10.2, 59.2)]),
            Polygon([(10.3, 59.3), (10.4, 59.3), (10.4, 59.4)]),
        ]
    )
    zones = pd.DataFrame({"zone_id": ["SEZ/North", "SEZ North"], "geometry": [square, two]})
    yy, xx = np.mgrid[0:20, 0:30]
    fine = np.exp(-((xx - 15) ** 2 + (yy - 10) ** 2) / 40) * 50
    fine[0, 0] = np.nan
    coarse = fine[::4, ::4]  # decimated: 5 x 8 cells over the same bounds
    crops = [(fine, (36.85, -1.5, 37.1, -1.25)), (coarse, (9.9, 58.9, 10.5, 59.5))]
    written = plots.zone_maps(zones, crops, "2024-06", tmp_path / "maps")
    assert [p.name for p in written] == [f"{file_stem(z)}.png" for z in zones.zone_id]
    assert written[0].name != written[1].name
    for png, zone_id in zip(written, zones.zone_id, strict=True):
        looks_drawn(png)
        assert png_title(png) == f"{zone_id}\n2024-06"
    fig = plots.zone_map_figure("SEZ North", two, coarse, (9.9, 58.9, 10.5, 59.5), "2024-06")
    ax = fig.axes[0]
    assert ax.images[0].get_extent() == [9.9, 10.5, 58.9, 59.5]
    assert (ax.get_xlim(), ax.get_ylim()) == ((9.9, 10.5), (58.9, 59.5))
    assert len(ax.get_lines()) == 2  # both parts outlined
    assert "nW/cm²/sr" in fig.axes[1].get_ylabel()


def test_source_scatter_compares_months_observed_by_both(tmp_path):
    t = stats([f"z{i}" for i in range(6)])
    png = plots.source_scatter(t, tmp_path / "scatter.png")
    looks_drawn(png)
    pairs = plots.series_pairs(t, "eog", "blackmarble")
    # months 0, 5, 10 (share 0.3) and 7 (nothing observed) are left out, and month 4
    # (no Black Marble row)
    assert sorted(pairs.month.unique()) == [MONTHS[i] for i in (1, 2, 3, 6, 8, 9, 11)]
    assert len(pairs) == 6 * 7
    r = np.corrcoef(np.log10(pairs.x), np.log10(pairs.y))[0, 1]
    rho = np.corrcoef(pairs.x.rank(), pairs.y.rank())[0, 1]
    ratio = np.median(pairs.y / pairs.x)
    assert png_title(png) == (
        f"EOG vs Black Marble mean radiance\n"
        f"Spearman ρ = {rho:.3f} over all 42 zone-months observed by both\n"
        f"n = 42 with both means > 0: median ratio {ratio:.3g}, Pearson r of log10 = {r:.3f}"
    )


def test_source_scatter_keeps_dark_zone_months_in_the_rank_correlation(tmp_path):
    """Black Marble stores composites below 0.5 nW/cm²/sr as 0, so a dark zone's mean is
    0 there: it cannot sit on log axes, but it is a pair both sources observed. The
    Spearman rank correlation uses every pair, the Pearson of log10 only those with both
    means > 0, and the title says how many each uses."""
    t = stats([f"z{i}" for i in range(6)])
    dark = t.zone_id.isin(["z0", "z1"]) & t["mean"].notna()
    t.loc[dark & (t.source == "blackmarble"), ["mean", "sum", "median", "min", "max"]] = 0.0
    t.loc[dark & (t.source == "eog") & (t.zone_id == "z0"), "mean"] = -0.02  # EOG's noise
    png = plots.source_scatter(t, tmp_path / "scatter.png")
    looks_drawn(png)
    # the pairs, worked out here: both sources' rows with quality ok/partly_observed,
    # observed share >= 0.5 and a mean; joined on zone and month
    good = t[t.quality.isin(["ok", "partly_observed"]) & (t.observed_share >= 0.5)]
    wide = good.pivot_table(index=["zone_id", "month"], columns="source", values="mean").dropna()
    assert len(wide) == 42 and (wide.blackmarble == 0).sum() == 14
    ranks = wide.rank()  # average ranks for ties: Spearman's rho is Pearson's r of ranks
    rho = np.corrcoef(ranks.eog, ranks.blackmarble)[0, 1]
    lit = wide[(wide.eog > 0) & (wide.blackmarble > 0)]
    r = np.corrcoef(np.log10(lit.eog), np.log10(lit.blackmarble))[0, 1]
    assert len(lit) == 28
    ratio = np.median(lit.blackmarble / lit.eog)
    assert png_title(png) == (
        f"EOG vs Black Marble mean radiance\n"
        f"Spearman ρ = {rho:.3f} over all 42 zone-months observed by both\n"
        f"n = 28 with both means > 0: median ratio {ratio:.3g}, Pearson r of log10 = {r:.3f}"
    )
    # every zone-month dark in Black Marble: ranks still compare, nothing to draw
    t.loc[(t.source == "blackmarble") & t["mean"].notna(), "mean"] = 0.0
    png = plots.source_scatter(t, tmp_path / "dark.png")
    assert png_title(png) == "EOG vs Black Marble mean radiance"
    with Image.open(png) as im:
        assert "over all 42 zone-months observed by both" in im.text["Description"]
        assert "only 0 of them have both means > 0" in im.text["Description"]


@pytest.mark.parametrize("case", ["one source", "too few pairs"])
def test_source_scatter_says_why_it_cannot_compare(tmp_path, case):
    t = stats(["a"])
    if case == "one source":
        t = t[t.source == "eog"]
        why, title = "needs two sources;\nthis run has EOG", "Sources compared"
    else:
        t = t[t.month.isin(MONTHS[:3])]  # months 1 and 2 only are observed by both
        why, title = "only 2 zone-month(s) observed by both", "EOG vs Black Marble mean radiance"
    png = plots.source_scatter(t, tmp_path / "scatter.png")
    img = mpimg.imread(png)
    assert img.shape[0] > 150 and img[..., :3].std() > 0.02
    assert png_title(png) == title
    with Image.open(png) as im:
        assert why in im.text["Description"]  # the text drawn in the figure


# --------------------------------------------------------------------------- issue 21: fit


def _renderer(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    return FigureCanvasAgg(fig).get_renderer() if fig.canvas is None else fig.canvas.get_renderer()


def drawn_boxes(fig):
    """Draw ``fig`` as it is saved; its texts' boxes (pixels) by role."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    r = canvas.get_renderer()
    return r, fig.bbox


def touching(boxes, gap=2.0) -> list:
    boxes = sorted(boxes, key=lambda b: b.x0)
    return [(a, b) for a, b in zip(boxes, boxes[1:], strict=False) if b.x0 < a.x1 + gap]


@pytest.mark.parametrize("size", [(7.5, 6.6), (5.0, 4.5), (12.0, 6.0), (16.0, 9.0)])
def test_the_overview_footnote_fits_in_the_figure_at_every_size(size):
    """The footnote explaining the solid and dotted lines once ran off the figure ("...
    outside the coverage); dashe"): it wraps to the figure's width and stays clear of
    the month axis, whatever the size."""
    fig = plots.overview(stats(["a", "b", "c"]), figsize=size)
    r, figbox = drawn_boxes(fig)
    (note,) = [t for t in fig.texts if t.get_text().replace("\n", " ") == plots.OVERVIEW_NOTE]
    box = note.get_window_extent(r)
    assert 0 <= box.x0 and box.x1 <= figbox.x1 and 0 <= box.y0 and box.y1 <= figbox.y1, box
    assert box.y1 < fig.axes[2].get_tightbbox(r).y0  # below the month labels, not on them
    assert "dotted: share of all zones' area not observed" in note.get_text().replace("\n", " ")


@pytest.mark.parametrize("n_months", [3, 12, 14, 40, 175])
def test_month_axes_label_every_month_as_yyyy_mm_and_labels_never_touch(n_months):
    months = [str(p) for p in pd.period_range("2018-11", periods=n_months, freq="M")]
    t = stats(["a", "b"], months=tuple(months))
    for fig in (plots.overview(t), plots.timeseries_figure(t[t.zone_id == "a"], "a", months)):
        r, _ = drawn_boxes(fig)
        ax = fig.axes[2]
        labels = [x for x in ax.get_xticklabels() if x.get_text()]
        texts = [x.get_text() for x in labels]
        assert len(texts) >= 2, texts
        assert all(len(x) == 7 and x[4] == "-" and x[:4].isdigit() for x in texts), texts
        assert any(x.endswith("-01") for x in texts) or n_months < 12, texts  # Januaries
        assert touching([x.get_window_extent(r) for x in labels]) == [], texts


@pytest.mark.parametrize(
    "bounds, shape",
    [((-93.6, 29.8, -93.0, 30.1), (8, 15)), ((-93.6, 29.0, -93.45, 31.0), (48, 4))],
)
def test_map_longitude_labels_never_run_together(bounds, shape):
    """Black Marble maps printed "-93.50-93.25..." as one string: fewer ticks, as many
    decimals as they need, no two labels touching (a wide and a tall, narrow map)."""
    geom = Polygon.from_bounds(
        bounds[0] + 0.05, bounds[1] + 0.05, bounds[2] - 0.05, bounds[3] - 0.05
    )
    fig = plots.zone_map_figure("z", geom, np.ones(shape), bounds, "2019-01")
    r, _ = drawn_boxes(fig)
    labels = [x for x in fig.axes[0].get_xticklabels() if x.get_text()]
    assert len(labels) >= 2
    assert touching([x.get_window_extent(r) for x in labels]) == []
    decimals = {len(x.get_text().partition(".")[2]) for x in labels}
    assert len(decimals) == 1, [x.get_text() for x in labels]


def test_a_zone_across_the_antimeridian_is_mapped_whole_with_its_data(eog_tree, tmp_path):
    """A zone of 179.7E..179.8W (cut in two parts by prepare_zones) is framed across the
    antimeridian: both parts outlined side by side, and the pixels west of it read from
    the other end of the grid (they were painted "no data" at -181..-180), equal to the
    globe's; the longitude labels stay within -180..180."""
    import math

    from helpers import PIXEL_ARCSEC, SERVER_PATH, eog_globe, local_granules, make_config

    from sezlights import sources
    from sezlights.crops import crop_window, read_crops
    from sezlights.zones import split_antimeridian

    fiji = split_antimeridian(Polygon([(179.2, -17.5), (-179.5, -17.5), (-179.5, -16.0),
                                       (179.2, -16.0)]))  # fmt: skip
    assert fiji.geom_type == "MultiPolygon"
    zones = pd.DataFrame({"zone_id": ["fiji"], "geometry": [fiji]})
    src = sources.get("eog", make_config(sources=["eog"], eog={"pixel_arcsec": PIXEL_ARCSEC}))
    files = sorted((eog_tree / SERVER_PATH / "2019/201901/vcmcfg").glob("*.tgz"))
    granules, folder = local_granules(files, src)
    ((arr, bounds),) = read_crops(zones, granules, src, folder, None, tmp_path / "s", 600)
    left, bottom, right, top = bounds
    assert left < 179.2 and 180.5 < right and right - left < 5  # one frame, across
    rad, cvg, lattice = eog_globe("2019-01")
    win = crop_window(fiji, lattice)
    assert win.col_off + win.width > lattice.cols  # past the east edge: wraps round
    cols = np.arange(int(win.col_off), int(win.col_off + win.width)) % lattice.cols
    rows = np.arange(int(win.row_off), int(win.row_off + win.height))
    r, c = rad[np.ix_(rows, cols)], cvg[np.ix_(rows, cols)]
    expected = np.where(np.isfinite(r) & (c >= 1), r, np.nan)
    np.testing.assert_allclose(arr, expected, rtol=1e-6, equal_nan=True)
    east = int(math.ceil((180 - left) / lattice.pixel))
    assert np.isfinite(arr[:, east:]).any() and np.isfinite(arr[:, :east]).any()
    fig = plots.zone_map_figure("fiji", fiji, arr, bounds, "2019-01")
    (line,) = fig.axes[0].get_lines()  # one outline: the halves joined across 180
    x = line.get_xdata()
    assert left <= x.min() < 180 < x.max() <= right
    assert x.min() == pytest.approx(179.2) and x.max() == pytest.approx(180.5)
    r_, _ = drawn_boxes(fig)
    texts = [x.get_text().replace("\N{MINUS SIGN}", "-") for x in fig.axes[0].get_xticklabels()]
    assert all(-180 <= float(t) <= 180 for t in texts if t), texts
    plots._save(fig, tmp_path / "fiji.png")
    looks_drawn(tmp_path / "fiji.png")


def test_a_map_title_too_wide_for_the_figure_wraps_and_keeps_the_zone_id_whole():
    what = "NASA Black Marble monthly (VNP46A3, VJ146A3), 2019-03 (VNP46A3, npp)"
    zone_id = "MX-PUERTO-CHIAPAS"
    fig = plots.zone_map_figure(zone_id, Polygon.from_bounds(0, 0, 1, 1), np.ones((4, 4)),
                                (-0.5, -0.5, 1.5, 1.5), what)  # fmt: skip
    r, figbox = drawn_boxes(fig)
    title = fig.axes[0].title
    box = title.get_window_extent(r)
    assert 0 <= box.x0 and box.x1 <= figbox.x1, box
    lines = title.get_text().split("\n")
    assert lines[0] == zone_id and len(lines) > 2
    assert " ".join(lines[1:]) == what


def _with_rings(zone_rows: pd.DataFrame, rings=((0, 5, 0.5), (5, 10, 0.25))) -> pd.DataFrame:
    """A zone's rows and its rings' (each ring's mean a fixed share of its zone's)."""
    parts = [zone_rows]
    for inner, outer, share in rings:
        r = zone_rows.copy()
        r["zone_id"] = f"{zone_rows.zone_id.iloc[0]}__ring_{inner}_{outer}km"
        r["zone_kind"] = "ring"
        r["ring_inner_km"] = float(inner)
        r["ring_outer_km"] = float(outer)
        r["mean"] = r["mean"] * share
        parts.append(r)
    return pd.concat(parts, ignore_index=True)


def _same(a, b) -> bool:
    return np.allclose(np.asarray(a, float), np.asarray(b, float), equal_nan=True)


def test_a_zones_chart_draws_each_ring_with_its_own_means_and_distances():
    # issue 20: the per-zone chart shows the zone with its rings, each labelled
    rows = _with_rings(stats(["z0"], sources=("eog",)))
    fig = plots.timeseries_figure(rows, "z0", MONTHS)
    panel = fig.axes[1]  # mean radiance
    drawn = [line.get_ydata() for line in panel.get_lines()]
    for ring_id in ("z0", "z0__ring_0_5km", "z0__ring_5_10km"):
        expected = rows[rows.zone_id == ring_id].set_index("month")["mean"].reindex(MONTHS)
        assert any(_same(y, expected) for y in drawn), ring_id
    dotted = [line for line in panel.get_lines() if line.get_linestyle() == ":"]
    assert len(dotted) == 2  # the rings, not the zone
    labels = sorted(t.get_text() for t in panel.texts)
    assert labels == ["0-5 km", "5-10 km"]
    # the sum-of-lights panel is the zone's alone
    assert not any(line.get_linestyle() == ":" for line in fig.axes[0].get_lines())


def test_the_event_study_averages_zones_and_their_first_rings_by_months_since_start(
    tmp_path, monkeypatch
):
    # issue 20: computed here by loops over the rows, then compared with what is drawn
    zones = ("a", "b", "c")
    starts = {"a": 3, "b": 6, "c": None}  # c has no start date: left out
    rows = []
    for z in zones:
        base = stats([z], sources=("eog",), seed=ord(z))
        rows.append(_with_rings(base))
    t = pd.concat(rows, ignore_index=True)
    t["parent_id"] = t["zone_id"].str.split("__").str[0]
    month_no = t["month"].str[5:].astype(int)
    start = t["parent_id"].map(starts)
    t["months_since_start"] = (month_no - start).astype("Int64")

    data = plots.event_study_data(t)
    observed = t[t["months_since_start"].notna() & t["mean"].notna()]
    for kind, pick in (("zone", "zone"), ("first ring", "ring_0_5km")):
        got = data[data.kind == kind].set_index("months_since_start")
        chosen = observed[
            observed.zone_id.str.endswith(pick) if kind != "zone" else observed.zone_kind == "zone"
        ]
        expected = {}
        for k, group in chosen.groupby("months_since_start"):
            expected[int(k)] = (group["mean"].mean(), group["parent_id"].nunique())
        assert sorted(got.index) == sorted(expected)
        for k, (mean, n) in expected.items():
            assert got.loc[k, "mean"] == pytest.approx(mean)
            assert got.loc[k, "zones"] == n
    assert set(data["zones"]) <= {1, 2}  # never c
    assert (
        not (data.kind == "first ring").any() or not observed.zone_id.str.endswith("5_10km").empty
    )  # the outer ring is never counted as a first ring
    assert len(data) == len(data.drop_duplicates(["kind", "months_since_start"]))

    # the figure draws those means, zones and first rings, and the zone counts as bars
    drawn = {}
    monkeypatch.setattr(plots, "_save", lambda fig, dest, *a, **k: drawn.setdefault("fig", fig))
    plots.event_study_figure(t, tmp_path / "event.png")
    top, bottom = drawn["fig"].axes[:2]
    lines = [line for line in top.get_lines() if line.get_marker() in ("o", "s")]
    for kind, marker in (("zone", "o"), ("first ring", "s")):
        d = data[data.kind == kind].set_index("months_since_start")
        span = np.arange(d.index.min(), d.index.max() + 1)
        line = next(line for line in lines if line.get_marker() == marker)
        assert list(line.get_xdata()) == list(span)
        assert _same(line.get_ydata(), d["mean"].reindex(span))
    (bars,) = bottom.collections  # one PolyCollection: a bar's top is its 2nd vertex
    heights = sorted(path.vertices[1, 1] for path in bars.get_paths())
    assert heights == sorted(data[data.kind == "zone"]["zones"].astype(float))
