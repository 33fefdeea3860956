"""The report's figures as a reader sees them (issue 21, items 9-11), from a real run of both
sources and its report opened in headless Chromium: the overview's footnote whole, month
axes labelled ``YYYY-MM``, a zone across the antimeridian mapped whole with its data, and
Black Marble's longitude labels apart. The measurements behind each (text boxes, tick
label boxes, the pixels read) are in test_plots.py; here the figures are looked at where
the reader meets them, and the screenshots kept in tests/artifacts/:
report-overview.png, report-map-antimeridian-eog.png, report-map-antimeridian-blackmarble.png,
report-map-blackmarble-ticks.png, report-timeseries-months.png.
"""

from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import pandas as pd
import pytest
from helpers import (
    BM_TILES,
    EARTHDATA_TOKEN,
    PIXEL_ARCSEC,
    eog_standin,
    read_table,
    snakemake,
    workflow_dir,
)
from sezlights_standin import blackmarble_tiles
from sezlights_standin.earthdata import EarthdataServer
from test_report import (
    ARTIFACTS,
    assert_picture,
    browser,  # noqa: F401 - the fixture
    build_report,
    go_to,
    opened,
    shown_image,
    view,
)

from sezlights import labels

pytestmark = pytest.mark.workflow
FIJI = "FJ-ACROSS-180"  # 179.2E .. 179.5W
FIJI_RING = [[179.2, -17.5], [-179.5, -17.5], [-179.5, -16.0], [179.2, -16.0], [179.2, -17.5]]
MEXICO = "MX-PUERTO-CHIAPAS"


@pytest.fixture(scope="module")
def run(eog_tree, tmp_path_factory):
    """EOG and Black Marble (Earthdata Cloud), three months, the demo zones and one zone
    across the antimeridian (Black Marble's tiles on both sides of it added), and the
    run's report."""
    root = tmp_path_factory.mktemp("report-figures")
    shutil.copytree(eog_tree, root / "eog")
    tiles = [*BM_TILES, "h35v10", "h00v10"]
    blackmarble_tiles.make_tree(
        root / "laads", "2019-01", "2019-03", PIXEL_ARCSEC, tiles=tiles, products=["VNP46A3"]
    )
    with eog_standin(root / "eog") as eog_server, EarthdataServer(root / "laads") as cloud:
        cloud.users[EARTHDATA_TOKEN] = {"uid": "alice", "approved": True, "eula": True, "exp": None}
        work = workflow_dir(
            root, eog_server, cloud, sources=["eog", "blackmarble"],
            blackmarble={"products": ["VNP46A3"]},
            zones={"path": "config/zones/with_fiji.geojson", "id_field": "zone_id"},
        )  # fmt: skip
        zones = json.loads((work / "config/zones/demo_zones.geojson").read_text())
        zones["features"].append(
            {
                "type": "Feature",
                "properties": {"zone_id": FIJI, "name": "across the antimeridian"},
                "geometry": {"type": "Polygon", "coordinates": [FIJI_RING]},
            }
        )
        (work / "config/zones/with_fiji.geojson").write_text(json.dumps(zones))
        snakemake(work)
        yield SimpleNamespace(
            work=work,
            html=build_report(work),
            results=work / "results/report",
            table=read_table(work / "results/zonal_stats.csv"),
        )


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_overview_and_month_axes_in_the_report(run, browser):  # noqa: F811
    with opened(browser, run.html) as page:
        go_to(page, "4. Statistics", "All zones")
        view(page, "all zones")
        png = shown_image(page)
        assert png == (run.results / "overview.png").read_bytes()
        assert_picture(png, "overview")
        screenshot(page, "report-overview.png")
        go_to(page, "4. Statistics", "Time series")
        view(page, MEXICO)
        assert (
            shown_image(page)
            == (run.results / "timeseries" / f"{labels.file_stem(MEXICO)}.png").read_bytes()
        )
        screenshot(page, "report-timeseries-months.png")


@pytest.mark.parametrize("source", ["eog", "blackmarble"])
def test_a_zone_across_the_antimeridian_is_mapped_whole(run, browser, source):  # noqa: F811
    """Its statistics use the pixels on both sides (every month observed somewhere), and
    its map, in the report, is the one drawn across the antimeridian."""
    rows = run.table[(run.table.zone_id == FIJI) & (run.table.source == source)]
    assert len(rows) == 3 and (rows.pixels_observed > 0).all(), rows
    png = run.results / "maps" / source / f"{labels.file_stem(FIJI)}.png"
    with opened(browser, run.html) as page:
        go_to(page, "3. Maps", f"{source}, latest month")
        view(page, FIJI)
        assert shown_image(page) == png.read_bytes()
        screenshot(page, f"report-map-antimeridian-{source}.png")


def test_black_marble_map_ticks_in_the_report(run, browser):  # noqa: F811
    png = run.results / "maps" / "blackmarble" / f"{labels.file_stem(MEXICO)}.png"
    with opened(browser, run.html) as page:
        go_to(page, "3. Maps", "blackmarble, latest month")
        view(page, MEXICO)
        assert shown_image(page) == png.read_bytes()
        screenshot(page, "report-map-blackmarble-ticks.png")


def test_the_table_has_the_zone_across_the_antimeridian_once_per_month(run):
    t = run.table[run.table.zone_id == FIJI]
    assert sorted(t.month.unique()) == ["2019-01", "2019-02", "2019-03"]
    assert pd.Series(t.groupby("source").size()).to_dict() == {"blackmarble": 3, "eog": 3}
