"""The run report (``snakemake --report``), built from real runs and opened in headless
Chromium.

- One demo-like run with both sources (EOG and Black Marble, module-scoped, shared by
  most tests) and its single-file report.
- One EOG-only run over zones whose ids are hard to turn into file names and labels.

Every browser check fails on a JavaScript page error, a console error, or a figure
that does not render. Screenshots are kept in tests/artifacts/ (report-home.png,
report-zone.png, report-table.png).
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from helpers import EARTHDATA_TOKEN, REPO, eog_standin, read_table, snakemake, workflow_dir
from PIL import Image
from sezlights_standin.earthdata import EarthdataServer

from sezlights import labels, plots, series, table

workflow = pytest.mark.workflow  # the tests that run Snakemake
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CATEGORIES = ("1. Run", "2. Files", "3. Maps", "4. Statistics")
DATA_URL_LIMIT = 2_097_152  # characters of a data: URL Chromium shows in an iframe
BOTH = ("eog", "blackmarble")


# ------------------------------------------------------------------ fixtures and helpers


def _playwright_or_skip():
    if not os.path.exists(CHROMIUM):
        msg = "Debian's chromium is not installed (.ci/run installs it: apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return pytest.importorskip("playwright.sync_api")


def build_report(work: Path) -> Path:
    """``python -m snakemake --configfile config/test.yaml --report report.html``."""
    snakemake(work, "--report", "report.html", profile=None, cores=None, timeout=300)
    out = work / "report.html"
    assert out.stat().st_size > 100_000
    return out


@pytest.fixture(scope="module")
def demo(eog_tree, laads_tree, tmp_path_factory):
    """A demo-like run with both sources (3 months, the 6 demo zones) and its report."""
    root = tmp_path_factory.mktemp("report-demo")
    shutil.copytree(eog_tree, root / "eog")
    shutil.copytree(laads_tree, root / "laads")
    with (
        eog_standin(root / "eog") as eog_server,
        EarthdataServer(root / "laads") as laads_server,
    ):
        laads_server.users[EARTHDATA_TOKEN] = {
            "uid": "alice", "approved": True, "eula": True, "exp": None
        }  # fmt: skip
        work = workflow_dir(root, eog_server, laads_server, sources=list(BOTH))
        snakemake(work)
        html = build_report(work)
        yield SimpleNamespace(
            work=work,
            html=html,
            results=work / "results/report",
            table=read_table(work / "results/zonal_stats.csv"),
            shown=pd.read_csv(
                work / "results/report/zones_shown.csv",
                dtype={"zone_id": str},
                keep_default_na=False,
            ),
        )


@pytest.fixture(scope="module")
def browser():
    pw = _playwright_or_skip()
    with pw.sync_playwright() as play:
        b = play.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@contextmanager
def opened(browser, html: Path):
    """The report in a new page; fails on any page error or console error (of the page
    or of the tables in its iframes)."""
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.goto(html.as_uri())
    page.get_by_text("Night lights of Special Economic Zones").first.wait_for(timeout=30_000)
    try:
        yield page
        page.wait_for_timeout(300)  # late errors of what was opened last
    finally:
        page.close()
    assert errors == []


def go_to(page, category: str, subcategory: str | None = None) -> None:
    """Open a category of results (and one of its subcategories), from anywhere."""

    def link(text):
        return page.locator("a", has_text=re.compile(f"^{re.escape(text)}$"))

    if link(category).count() == 0:  # inside another category: back to the list
        link("Results").first.click()
    link(category).first.click()
    if subcategory is not None:
        link(subcategory).first.click()
        page.locator("a[iconname=eye]").first.wait_for(timeout=10_000)


def label_rows(page) -> list[list[str]]:
    """The label cells of the results listed (the text exactly as in the DOM, spaces
    included), one list per row, without the header."""
    return page.evaluate(
        """() => [...document.querySelectorAll('tr')]
            .filter(tr => tr.querySelector('a[iconname=eye]'))
            .map(tr => [...tr.querySelectorAll('td')].slice(0, -1).map(td => td.textContent))"""
    )


SHOWN = "img[src^='data:image/png'], iframe"  # where the report shows a result
SHOWN_SRC = f"() => {{ const c = document.querySelector({SHOWN!r}); return c ? c.src : null; }}"


def view(page, first_label: str) -> None:
    """Click the eye button of the listed result whose first label is ``first_label``
    (compared exactly), and wait until the report shows another result than before."""
    before = page.evaluate(SHOWN_SRC)
    rows = page.locator("tr").filter(has=page.locator("a[iconname=eye]"))
    for i in range(rows.count()):
        if rows.nth(i).locator("td").first.text_content() == first_label:
            rows.nth(i).locator("a[iconname=eye]").click()
            page.wait_for_function(f"b => ({SHOWN_SRC})() !== b", arg=before, timeout=30_000)
            return
    raise AssertionError(f"no result labelled {first_label!r}: {label_rows(page)}")


def shown_image(page) -> bytes:
    """The bytes of the figure the report shows, after checking it rendered."""
    img = page.locator("img[src^='data:image/png']")
    img.first.wait_for(timeout=30_000)
    page.wait_for_function(
        "() => { const i = document.querySelector(\"img[src^='data:image/png']\");"
        " return i && i.complete && i.naturalWidth > 0; }",
        timeout=30_000,
    )
    width = img.first.evaluate("i => i.naturalWidth")
    assert width > 300, "the figure did not render"
    src = img.first.get_attribute("src")
    return base64.b64decode(src.split("base64,", 1)[1])


def shown_frame(page):
    """The HTML page the report shows (in an iframe), once loaded."""
    frame = page.locator("iframe")
    frame.wait_for(timeout=30_000)
    src = frame.get_attribute("src")
    assert src.startswith("data:text/html") and len(src) < DATA_URL_LIMIT, len(src)
    handle = frame.element_handle().content_frame()
    handle.wait_for_load_state()
    handle.locator("body").wait_for(timeout=30_000)
    return handle


def assert_picture(png: Path | bytes, name) -> np.ndarray:
    """A PNG that is a real picture, not a blank canvas; its pixels (0..1)."""
    if isinstance(png, bytes):
        png = io.BytesIO(png)
    img = mpimg.imread(png, format="png")
    assert img.shape[0] > 200 and img.shape[1] > 300, name
    assert img[..., :3].std() > 0.05, f"{name} looks empty"
    return img


def colour_pixels(img: np.ndarray, hex_colour: str, top: float = 0.12) -> int:
    """Pixels of exactly ``hex_colour`` (+-6/255) below the top ``top`` share of the
    image (the legend, which names every source whatever the data, is above)."""
    rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    body = img[int(img.shape[0] * top) :, :, :3]
    return int((np.abs(body - rgb) <= 6 / 255).all(axis=-1).sum())


def png_title(png: Path) -> str:
    with Image.open(png) as im:
        return im.text.get("Title", "")


def report_results(page) -> dict:
    """The report's own index of results (its global ``results``): path -> entry."""
    return page.evaluate("() => results")


# ------------------------------------------------------------------ the demo report


@workflow
def test_demo_run_draws_every_report_figure_with_both_sources(demo):
    shown = list(demo.shown.zone_id)
    assert len(shown) == 6
    stems = {f"{labels.file_stem(z)}.png" for z in shown}
    for folder in ("timeseries", "maps/eog", "maps/blackmarble"):
        names = {p.name for p in (demo.results / folder).glob("*.png")}
        assert names == stems, folder
    figures = sorted(demo.results.rglob("*.png"))
    assert len(figures) == 3 * 6 + 3  # + overview, the sources' and the satellites' scatter
    for png in figures:
        assert_picture(png, png)
    assert (demo.results / "sources_scatter.png").exists()
    assert (demo.results / "satellites.png").exists()


@workflow
def test_report_home_has_the_four_categories_and_every_item_loads(demo, browser):
    with opened(browser, demo.html) as page:
        menu = page.locator("a").all_text_contents()
        for category in CATEGORIES:
            assert category in menu, category
        categories = page.evaluate("() => categories")
        assert sorted(categories) == list(CATEGORIES)
        assert set(categories["3. Maps"]) == {f"{s}, latest month" for s in BOTH}
        assert set(categories["4. Statistics"]) == {
            "All zones",
            "Time series",
            "Sources compared",
            "Satellites compared",  # NOAA-20 against Suomi NPP
            "Table",  # the full table, browsable; the per-month CSVs are results files
        }
        assert "System Message" not in page.locator("body").inner_text()  # the rst is valid
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report-home.png"))

        results = report_results(page)
        # every item is where it belongs, every figure decodes in the browser, every
        # page fits the data: URL an iframe accepts
        rules = set()
        for path, entry in results.items():
            rules.add(entry["job_properties"]["rule"])
            if entry["mime_type"] == "text/html":
                assert len(entry["data_uri"]) < DATA_URL_LIMIT, path
        assert rules >= {
            "summarize_run_provenance",
            "choose_report_zones",
            "tabulate_zonal_stats",
            "plot_all_zones_overview",
            "plot_zone_timeseries",
            "map_zones_latest_month",
            "compare_sources",
            "compare_satellites",
        }
        widths = page.evaluate(
            """async () => Promise.all(Object.values(results)
                .filter(r => r.mime_type === 'image/png')
                .map(r => new Promise(ok => { const i = new Image();
                    i.onload = () => ok(i.naturalWidth); i.onerror = () => ok(0);
                    i.src = r.data_uri; })))"""
        )
        assert len(widths) == 3 * 6 + 3 and min(widths) > 300, widths


@workflow
def test_zone_time_series_shows_both_sources_on_one_chart(demo, browser):
    t = demo.table
    both = t[t["mean"].notna()].groupby("zone_id")["source"].nunique()
    zones = [z for z in demo.shown.zone_id if both.get(z, 0) == 2]
    assert zones == list(demo.shown.zone_id), both  # every zone has both, in the demo
    for zone in zones:  # one chart per zone, with a line of each source in it
        png = demo.results / "timeseries" / f"{labels.file_stem(zone)}.png"
        assert png_title(png) == zone
        img = assert_picture(png, zone)
        for source in BOTH:
            assert colour_pixels(img, series.source_colour(source)) > 20, (zone, source)

    zone = "IR-CHABAHAR-FZ" if "IR-CHABAHAR-FZ" in zones else zones[0]
    with opened(browser, demo.html) as page:
        go_to(page, "4. Statistics", "Time series")
        listed = label_rows(page)
        assert sorted(r[0] for r in listed) == sorted(demo.shown.zone_id)
        assert {r[1] for r in listed} == {"time series"}
        view(page, zone)
        shown = shown_image(page)
        assert shown == (demo.results / "timeseries" / f"{labels.file_stem(zone)}.png").read_bytes()
        page.screenshot(path=str(ARTIFACTS / "report-zone.png"))

        # the maps: one subcategory per source, labelled with the zone and the month
        go_to(page, "3. Maps")
        menu = page.locator("a").all_text_contents()
        for source in BOTH:
            assert f"{source}, latest month" in menu, menu


@workflow
def test_eog_vs_black_marble_scatter_is_there_with_its_correlation(demo, browser):
    png = demo.results / "sources_scatter.png"
    assert_picture(png, png)
    title = png_title(png)
    m = re.search(
        r"n = (\d+) with both means > 0: median ratio .*, Pearson r of log10 = (-?[\d.]+)", title
    )
    assert m, title
    # the same pairs and correlation computed here from the table (EOG against Black
    # Marble's Suomi NPP, the satellite both share)
    t = demo.table[demo.table.satellite == "npp"]
    good = t[
        t.quality.isin(["ok", "partly_observed"]) & (t.observed_share >= 0.5) & (t["mean"] > 0)
    ]
    pairs = (
        good.pivot_table(index=["zone_id", "month"], columns="source", values="mean")
        .dropna()
        .loc[:, list(BOTH)]
    )
    assert int(m[1]) == len(pairs) >= 3
    r = np.corrcoef(np.log10(pairs["eog"]), np.log10(pairs["blackmarble"]))[0, 1]
    assert float(m[2]) == pytest.approx(r, abs=5e-4)
    assert r > 0.9  # one synthetic world seen by both sources

    with opened(browser, demo.html) as page:
        go_to(page, "4. Statistics", "Sources compared")
        assert label_rows(page) == [["all zones", "one source against another"]]
        view(page, "all zones")
        assert shown_image(page) == png.read_bytes()


@workflow
def test_run_summary_names_the_satellite_and_collection_of_each_source(demo, browser):
    with opened(browser, demo.html) as page:
        go_to(page, "1. Run")
        view(page, "run summary")
        frame = shown_frame(page)
        frame.get_by_text("Sources").first.wait_for()
        tables = frame.evaluate(
            """() => [...document.querySelectorAll('table')].map(t =>
                [...t.rows].map(r => [...r.cells].map(c => c.textContent.trim())))"""
        )
    facts = dict(tables[0])
    assert facts["months"] == "2019-01 to 2019-03 (3)"
    assert facts["zones"] == "6"
    # per grid, in name order
    assert facts["tiles needed"].startswith("blackmarble: h") and "; eog: " in facts["tiles needed"]
    head, *rows = tables[1]
    per_source = {row[0]: dict(zip(head, row, strict=True)) for row in rows}
    assert list(per_source) == list(BOTH)
    eog, bm = per_source["eog"], per_source["blackmarble"]
    assert eog["satellites"] == "Suomi NPP" and eog["product"] == "vcmcfg"
    assert "EOG" in eog["data"] and "v10" in eog["data"]
    assert bm["satellites"] == "Suomi NPP, NOAA-20" and bm["product"] == "VNP46A3, VJ146A3"
    assert bm["collection"] == "5200" and bm["endpoint"] == "cloud"
    assert bm["variable"] == "NearNadir_Composite_Snow_Free"
    for source, counts in per_source.items():
        rows_of = demo.table[demo.table.source == source]
        assert int(counts["zone-months"]) == len(rows_of) == 6 * 3 * (2 if source != "eog" else 1)
        assert int(counts["ok"]) == (rows_of.quality == "ok").sum()


@workflow
def test_zonal_stats_table_is_a_sortable_filterable_table_in_the_report(demo, browser):
    t = demo.table
    with opened(browser, demo.html) as page:
        go_to(page, "4. Statistics", "Table")
        listed = [r[0] for r in label_rows(page)]
        assert "all zones and months" in listed
        view(page, "all zones and months")
        frame = shown_frame(page)
        body_rows = frame.locator("table.dataTable tbody tr")
        body_rows.first.wait_for(timeout=30_000)
        assert f"{len(t)} rows, as in results/zonal_stats.csv" in frame.locator("body").inner_text()
        assert body_rows.count() == min(25, len(t))
        assert body_rows.first.locator("td").first.is_visible()
        heads = frame.locator(".dt-scroll-head th, table.dataTable thead th").filter(
            has_text=re.compile(r"\S")
        )
        columns = [h.strip() for h in heads.all_text_contents()][: len(t.columns)]
        assert columns == list(t.columns)

        def column(name):
            i = list(t.columns).index(name)
            return [r.locator("td").nth(i).text_content() for r in body_rows.all()]

        # the search box filters
        zone = "KE-ATHI-EPZ"
        frame.locator("input[type=search]").fill(zone)
        frame.wait_for_function(
            f"() => document.querySelectorAll('table.dataTable tbody tr').length == "
            f"{(t.zone_id == zone).sum()}"
        )
        assert set(column("zone_id")) == {zone}
        assert "filtered from" in frame.locator(".dt-info").inner_text()
        page.screenshot(path=str(ARTIFACTS / "report-table.png"))
        frame.locator("input[type=search]").fill("")

        # a click on a heading sorts (by the whole table, not just the page shown)
        head = frame.locator(".dt-scroll-head th", has_text=re.compile(r"^mean$")).first
        head.click()
        frame.wait_for_function(
            "() => document.querySelector('.dt-scroll-head th.dt-ordering-asc') !== null"
        )
        shown = [float(v) for v in column("mean") if v]
        assert shown == sorted(shown)
        head.click()
        frame.wait_for_function(
            "() => document.querySelector('.dt-scroll-head th.dt-ordering-desc') !== null"
        )
        shown = [float(v) for v in column("mean") if v]
        assert shown == sorted(shown, reverse=True)
        assert shown[0] == pytest.approx(t["mean"].max(), rel=1e-6)


def stats_table(zones=8, months=("2019-01", "2019-02", "2019-03", "2019-04"), seed=7):
    """A statistics table with every column, both sources, random qualities."""
    rng = np.random.default_rng(seed)
    rows = []
    for zone in range(zones):
        for month in months:
            for source in BOTH:
                quality = rng.choice(
                    ["ok", "partly_observed", "no_cloud_free", "outside_coverage"],
                    p=[0.5, 0.3, 0.1, 0.1],
                )
                share = {"ok": 1.0, "partly_observed": 0.99}.get(quality, 0.0)
                mean = rng.uniform(1, 100) if share else np.nan
                rows.append(
                    {
                        **dict.fromkeys(table.COLUMNS, np.nan),
                        "zone_id": f"Z{zone}",
                        "month": month,
                        "source": source,
                        "satellite": "npp",
                        "pixels": 10.0,
                        "pixels_observed": 10.0 * share,
                        "observed_share": share,
                        "sum": mean * 10 * share,
                        "mean": mean,
                        "quality": quality,
                    }
                )
    return pd.DataFrame(rows, columns=table.COLUMNS)


def test_overview_poorly_observed_share_is_the_quality_column_rule():
    """The overview's "zones poorly observed" is the share of rows whose quality is
    not "ok", per month and source -- whatever the observed share (partly observed
    rows here have 0.99 of the zone observed)."""
    t = stats_table()
    expected = (t.quality != "ok").groupby([t.source, t.month]).mean()
    assert 0 < expected.min() < expected.max() < 1
    data = plots.overview_data(t).set_index(["series", "month"])
    assert list(data.index.get_level_values("series").unique()) == list(BOTH)
    assert len(data) == len(expected) == 2 * 4
    pd.testing.assert_series_equal(
        data["poorly_observed_share"], expected.reindex(data.index), check_names=False
    )
    # and that is what the figure draws (in %), one solid line per source; beside each,
    # dotted, the share of the zones' area not observed
    fig = plots.overview(t)
    lines = [ln for ln in fig.axes[2].get_lines() if ln.get_linestyle() == "-"]
    assert [ln.get_label() for ln in lines] == ["EOG", "Black Marble"]
    for line, source in zip(lines, BOTH, strict=True):
        np.testing.assert_allclose(line.get_ydata(), expected.loc[source].to_numpy() * 100)
    area = [ln for ln in fig.axes[2].get_lines() if ln.get_linestyle() == ":"]
    by = t.groupby([t.source, t.month])
    unobserved = 1 - by["pixels_observed"].sum() / by["pixels"].sum()
    for line, source in zip(area, BOTH, strict=True):
        np.testing.assert_allclose(line.get_ydata(), unobserved.loc[source].to_numpy() * 100)
    assert 'zones poorly observed, quality not "ok"' in " ".join(
        txt.get_text().replace("\n", " ") for txt in [*fig.axes[2].texts, *fig.texts]
    )


@workflow
def test_overview_of_the_demo_uses_the_quality_rule(demo):
    t = demo.table
    assert (t.quality != "ok").any()
    data = plots.overview_data(t).set_index(["series", "month"])["poorly_observed_share"]
    key = series.keys(t)  # eog, blackmarble/npp, blackmarble/j01
    expected = (t.quality != "ok").groupby([key, t.month]).mean()
    pd.testing.assert_series_equal(data, expected.reindex(data.index), check_names=False)


def run_async(coroutine):
    """Run a coroutine to its end in a thread of its own (Playwright's sync API may be
    running an event loop in this one)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_report_labels_reach_the_report_exactly(tmp_path):
    """Snakemake fills in wildcards in string labels ("A{b}" would fail the report);
    the labels of per-zone figures go through its label expansion unchanged."""
    from snakemake.iocontainers import Wildcards
    from snakemake.report import expand_labels

    ids = ["A{b}", "{zone}", "x}", " padded ", "Zürich-Ω", "SEZ/North", "SEZ North"]
    labels.write_stems(tmp_path, ids)
    for zone_id, stem in labels.file_stems(ids).items():
        given = labels.figure_labels(stem, tmp_path, source="{source}", figure="map")
        wildcards = Wildcards(fromdict={"zone": stem, "source": "eog"})
        out = run_async(expand_labels(given, wildcards, None))
        assert out == {"zone": zone_id, "source": "eog", "figure": "map"}
        assert all(type(v) is str for v in out.values())
        assert json.loads(json.dumps(out))["zone"] == zone_id
    # a figure whose id is unknown is labelled by its file stem
    assert labels.figure_labels("other-0000", tmp_path) == {"zone": "other-0000"}


# ------------------------------------------------------------------ zone ids


ODD_IDS = ["SEZ/North", "SEZ North", "Zürich-Ω", " padded ", "A{b}", "NA"]
# near the synthetic cities (standin.world.CITIES), so every zone is lit
ODD_PLACES = [
    (2.35, 48.85),  # Paris
    (-74.00, 40.70),  # New York
    (-46.63, -23.55),  # Sao Paulo
    (106.70, 10.85),  # Ho Chi Minh City
    (36.98, -1.43),  # Athi River
    (38.47, 7.05),  # Hawassa
]


def odd_zones(path: Path) -> None:
    features = []
    for zone_id, (lon, lat) in zip(ODD_IDS, ODD_PLACES, strict=True):
        d = 0.3
        ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d]]
        features.append(
            {
                "type": "Feature",
                "properties": {"zone_id": zone_id},
                "geometry": {"type": "Polygon", "coordinates": [ring + [ring[0]]]},
            }
        )
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
        encoding="utf-8",
    )


@workflow
def test_zone_ids_keep_their_own_figures_and_labels_end_to_end(eog_server, tmp_path, browser):
    """Ids that sanitise to one file name, unicode, spaces at either end, a brace and
    "NA": one figure each, and the table and the report's labels show them as they
    are. One source only (EOG): no Black Marble maps and no scatter in the report."""
    work = workflow_dir(tmp_path, eog_server, zones={"path": "config/zones/odd_ids.geojson"})
    odd_zones(work / "config/zones/odd_ids.geojson")
    snakemake(work)
    html = build_report(work)
    out = work / "results/report"

    table = read_table(work / "results/zonal_stats.csv")
    assert sorted(set(table.zone_id)) == sorted(ODD_IDS)
    assert len(table) == len(ODD_IDS) * 3 and set(table.source) == {"eog"}
    assert (table.groupby("zone_id")["sum"].min() > 0).all(), "every zone is lit every month"

    stems = labels.file_stems(ODD_IDS)
    assert len(set(stems.values())) == len(ODD_IDS)
    for folder in ("timeseries", "maps/eog"):
        pngs = {p.name for p in (out / folder).glob("*.png")}
        assert pngs == {f"{s}.png" for s in stems.values()}, folder
        written = json.loads((out / folder / "zones.json").read_text(encoding="utf-8"))
        assert written == {s: z for z, s in stems.items()}
        for zone_id, stem in stems.items():
            img = assert_picture(out / folder / f"{stem}.png", (folder, zone_id))
            title = png_title(out / folder / f"{stem}.png")
            assert title.split("\n")[0] == zone_id, (folder, title)
            if folder == "timeseries":
                assert colour_pixels(img, series.source_colour("eog")) > 20, zone_id
    assert not (out / "maps/blackmarble").exists()
    assert not (out / "sources_scatter.png").exists()

    with opened(browser, html) as page:
        results = report_results(page)
        assert not [p for p in results if "sources_scatter" in p or "maps/blackmarble" in p]
        assert "compare_sources" not in {r["job_properties"]["rule"] for r in results.values()}
        categories = page.evaluate("() => categories")
        assert sorted(categories) == list(CATEGORIES)
        assert set(categories["3. Maps"]) == {"eog, latest month"}
        assert "Sources compared" not in categories["4. Statistics"]

        go_to(page, "4. Statistics", "Time series")
        zone_labels = [r[0] for r in label_rows(page)]
        assert sorted(zone_labels) == sorted(ODD_IDS)  # exactly: spaces, brace, unicode
        for zone_id in ("Zürich-Ω", " padded ", "A{b}", "SEZ/North"):
            view(page, zone_id)
            shown = shown_image(page)
            assert shown == (out / "timeseries" / f"{stems[zone_id]}.png").read_bytes()

        go_to(page, "3. Maps")  # one subcategory: the report lists its items at once
        page.locator("a[iconname=eye]").first.wait_for()
        rows = label_rows(page)
        assert sorted(r[0] for r in rows) == sorted(ODD_IDS)
        assert {tuple(r[1:]) for r in rows} == {("eog", "2019-03")}
        view(page, "SEZ North")
        assert shown_image(page) == (out / "maps/eog" / f"{stems['SEZ North']}.png").read_bytes()

        # the browsable table holds every id exactly
        go_to(page, "4. Statistics", "Table")
        view(page, "all zones and months")
        frame = shown_frame(page)
        frame.locator("table.dataTable tbody tr").first.wait_for(timeout=30_000)
        ids = frame.evaluate(
            """() => [...document.querySelectorAll('table.dataTable tbody tr')]
                .map(r => r.cells[0].textContent)"""
        )
        assert sorted(ids) == sorted(z for z in ODD_IDS for _ in range(3))
        frame.locator("input[type=search]").fill("padded")
        frame.wait_for_function(
            "() => document.querySelectorAll('table.dataTable tbody tr').length == 3"
        )
        assert set(
            frame.evaluate(
                """() => [...document.querySelectorAll('table.dataTable tbody tr')]
                    .map(r => r.cells[0].textContent)"""
            )
        ) == {" padded "}
