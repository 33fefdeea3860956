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


def test_50_zones_by_175_months_draw_quickly(tmp_path):
    months = [str(p) for p in pd.period_range("2012-04", periods=175, freq="M")]
    t = stats([f"z{i:02d}" for i in range(50)], months=months)
    import time

    start = time.perf_counter()
    plots.overview_figure(t, tmp_path / "overview.png")
    written = plots.timeseries_figures(t, tmp_path / "ts")
    elapsed = time.perf_counter() - start
    assert len(written) == 50
    assert elapsed < 30, f"50 zones x 175 months took {elapsed:.1f} s"  # about 6 s measured


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
