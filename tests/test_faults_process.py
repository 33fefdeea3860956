"""Process faults and bad input, with real Snakemake runs and real signals."""

import os
import signal
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import (
    TOKEN,
    edit_config,
    files_containing,
    kill_when,
    snakemake,
    workflow_dir,
)
from shapely.geometry import Polygon, box

from sezlights.devserver import TileServer

pytestmark = pytest.mark.workflow
FINAL = ["results/zonal_stats.csv", *[f"results/stats/2019-0{m}.csv" for m in (1, 2, 3)]]


@pytest.fixture(scope="module")
def reference(server_tree, tmp_path_factory):
    """Results of one uninterrupted run, to compare interrupted runs with."""
    with TileServer(server_tree, token=TOKEN, username="alice", password="s3cret-pw") as srv:
        work = workflow_dir(tmp_path_factory.mktemp("reference"), srv)
        snakemake(work)
    ref = {rel: (work / rel).read_bytes() for rel in FINAL}
    ref["mosaics"] = _mosaics(work)
    return ref


def _mosaics(work: Path) -> dict:
    """Pixels of the kept mosaics (demo config: mosaic.keep)."""
    import rasterio

    out = {}
    for tif in sorted((work / "resources/mosaic").glob("*/*.tif")):
        with rasterio.open(tif) as ds:
            out[str(tif.relative_to(work))] = ds.read(1)
    return out


def resume_and_compare(work: Path, reference, upstream_of_table=True):
    if upstream_of_table:
        assert not (work / "results/zonal_stats.csv").exists()
    snakemake(work, "--unlock")
    snakemake(work)
    for rel in FINAL:
        assert (work / rel).read_bytes() == reference[rel], rel
    mosaics = _mosaics(work)
    assert mosaics.keys() == reference["mosaics"].keys()
    for rel, arr in mosaics.items():
        assert np.array_equal(arr, reference["mosaics"][rel], equal_nan=True), rel
    leftovers = [p for p in work.rglob("*") if p.name.endswith((".tmp", ".part"))]
    leftovers += [p for p in work.rglob(".mosaic-*")] + [p for p in work.rglob(".gather-*")]
    assert leftovers == [], leftovers


def test_sigkill_during_download(tile_server, tmp_path, reference):
    tile_server.stall_seconds = 60
    tile_server.add_faults("20190201-20190228_75N060W", "stall")
    work = workflow_dir(tmp_path, tile_server)
    proc = snakemake(work, wait=False)
    part = work / "resources/tiles/2019-02"
    kill_when(proc, lambda: any(p.name.endswith(".part") for p in part.glob("*")))
    # the half-downloaded archive is only a .part: nothing looks complete
    assert not list(part.glob("*75N060W*.tgz"))
    resume_and_compare(work, reference)


@pytest.mark.parametrize("stage", ["mosaic", "stats"])
def test_sigkill_during_a_stage(tile_server, tmp_path, reference, stage):
    work = workflow_dir(tmp_path, tile_server)
    proc = snakemake(work, "--cores", "1", wait=False)
    kill_when(proc, lambda: any((work / "logs" / stage).glob("*.log")))
    # the mosaic (made only with mosaic.keep) is not on the statistics' path
    resume_and_compare(work, reference, upstream_of_table=stage == "stats")


def test_second_concurrent_run_is_refused(tile_server, tmp_path):
    tile_server.stall_seconds = 60
    tile_server.add_faults("75N060W", "stall")
    work = workflow_dir(tmp_path, tile_server)
    first = snakemake(work, wait=False)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not list((work / ".snakemake/locks").glob("*")):
            time.sleep(0.05)
        second = snakemake(work, check=False)
        assert second.returncode != 0
        assert "Directory cannot be locked" in second.stdout + second.stderr
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)


def test_awkward_zones_run_to_the_end(tile_server, tmp_path):
    """A zone across the antimeridian, one outside the coverage, one in another CRS."""
    work = workflow_dir(tmp_path, tile_server)
    fiji = Polygon([(179.7, -17.3), (-179.8, -17.3), (-179.8, -16.6), (179.7, -16.6)])
    zones = gpd.GeoDataFrame(
        {"zone_id": ["fiji-antimeridian", "svalbard", "nairobi-3857"]},
        geometry=[fiji, box(15.5, 78.1, 15.7, 78.3), box(36.8, -1.35, 36.95, -1.25)],
        crs="EPSG:4326",
    )
    zones.iloc[:2].to_file(work / "config/zones/awkward.gpkg", layer="a")
    merc = zones.iloc[2:].to_crs("EPSG:3857")
    both = pd.concat([zones.iloc[:2], merc.to_crs("EPSG:4326")])
    gpd.GeoDataFrame(both, crs="EPSG:4326").to_file(work / "config/zones/awkward.geojson")
    edit_config(work, lambda c: c["zones"].update(path="config/zones/awkward.geojson"))
    edit_config(work, lambda c: c["months"].update(start="2019-01", end="2019-01"))
    snakemake(work)
    table = pd.read_csv(work / "results/zonal_stats.csv").set_index("zone_id")
    assert table.loc["svalbard", "quality"] == "outside_coverage"
    assert table.loc["svalbard", "pixel_count"] == 0 and np.isnan(table.loc["svalbard", "mean"])
    assert table.loc["fiji-antimeridian", "pixel_count"] >= 6
    assert table.loc["nairobi-3857", "quality"] == "ok"
    fetched = " ".join(p for p in tile_server.file_gets())
    # the antimeridian zone needs both ends of the globe, not the tile between
    assert "00N180W" in fetched and "00N060E" in fetched
    assert "75N180W" not in fetched and "75N060E" not in fetched


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c.update(colour="red"), "Additional properties are not allowed ('colour'"),
        (lambda c: c["source"].update(product="vcm"), "'vcm' is not one of ['vcmcfg', 'vcmslcfg']"),
        (lambda c: c["download"].update(attempts="many"), "'many' is not of type 'integer'"),
        (lambda c: c["months"].update(end="2019-1"), "does not match"),
        (lambda c: c["months"].update(start=[2019, 1]), "[2019, 1] is not of type"),
    ],
)
def test_bad_config_names_the_key(tile_server, tmp_path, change, message):
    work = workflow_dir(tmp_path, tile_server)
    edit_config(work, change)
    p = snakemake(work, check=False)
    assert p.returncode != 0
    assert message in p.stdout + p.stderr
    assert not (work / "results").exists()


def test_token_never_reaches_a_file(tile_server, tmp_path):
    """EOG_TOKEN given directly: grep everything the run leaves, logs and metadata included."""
    work = workflow_dir(tmp_path, tile_server)
    snakemake(work, token=TOKEN)
    assert (work / "results/zonal_stats.csv").exists()
    assert files_containing(work, TOKEN) == []
