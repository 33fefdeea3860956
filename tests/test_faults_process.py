"""Process faults and bad input, with real Snakemake runs and real signals."""

import os
import signal
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from helpers import (
    CLIENT_SECRET,
    PASSWORD,
    edit_config,
    eog_standin,
    files_containing,
    kill_when,
    last_line,
    read_table,
    snakemake,
    workflow_dir,
)
from shapely.geometry import Polygon, box

# the runs killed at a given moment are `serial` (alone, after the others); the rest of
# this file runs with the other Snakemake runs
pytestmark = pytest.mark.workflow
FINAL = ["results/zonal_stats.csv", *[f"results/stats/eog/2019-0{m}.csv" for m in (1, 2, 3)]]


@pytest.fixture(scope="module")
def reference(eog_tree, tmp_path_factory):
    """Results of one uninterrupted run (mosaics kept), to compare interrupted runs with."""
    with eog_standin(eog_tree) as srv:
        work = workflow_dir(tmp_path_factory.mktemp("reference"), srv, mosaic={"keep": True})
        snakemake(work)
    ref = {rel: (work / rel).read_bytes() for rel in FINAL}
    ref["mosaics"] = _mosaics(work)
    return ref


def _mosaics(work: Path) -> dict:
    import rasterio

    out = {}
    for tif in sorted((work / "resources/mosaic").glob("*/*/*.tif")):
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
    leftovers = [p for p in work.rglob("*") if ".tmp" in p.name or p.name.endswith(".part")]
    leftovers += [p for p in work.rglob(".mosaic-*")] + [p for p in work.rglob(".gather-*")]
    assert leftovers == [], leftovers


@pytest.mark.serial
def test_sigkill_during_download(eog_server, tmp_path, reference):
    eog_server.stall_seconds = 60
    eog_server.add_faults("20190201-20190228_75N060W", "stall")
    work = workflow_dir(tmp_path, eog_server, mosaic={"keep": True})
    proc = snakemake(work, wait=False)
    staging = work / "resources/files/eog/.staging/2019-02"
    kill_when(proc, lambda: any(p.name.endswith(".part") for p in staging.glob("*")))
    # the half-downloaded archive is only a .part where files come in, and the month's
    # folder is not there: nothing looks complete
    assert not list(staging.glob("*75N060W*.tgz"))
    assert not (work / "resources/files/eog/2019-02").exists()
    resume_and_compare(work, reference)


@pytest.mark.serial
@pytest.mark.parametrize("stage", ["mosaic", "stats"])
def test_sigkill_during_a_stage(eog_server, tmp_path, reference, stage):
    work = workflow_dir(tmp_path, eog_server, mosaic={"keep": True})
    proc = snakemake(work, "--cores", "1", wait=False)
    kill_when(proc, lambda: any((work / "logs" / stage).rglob("*.log")))
    # the mosaic (made only with mosaic.keep) is not on the statistics' path
    resume_and_compare(work, reference, upstream_of_table=stage == "stats")


@pytest.mark.serial
def test_second_concurrent_run_is_refused(eog_server, tmp_path):
    eog_server.stall_seconds = 60
    eog_server.add_faults("75N060W", "stall")
    work = workflow_dir(tmp_path, eog_server)
    first = snakemake(work, wait=False)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not list((work / ".snakemake/locks").glob("*")):
            time.sleep(0.05)
        second = snakemake(work, check=False)
        assert second.returncode != 0
        assert "Directory cannot be locked" in last_line(second)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)


def test_awkward_zones_run_to_the_end(eog_server, tmp_path):
    """A zone across the antimeridian, one outside the coverage, one in another CRS."""
    work = workflow_dir(tmp_path, eog_server)
    fiji = Polygon([(179.7, -17.3), (-179.8, -17.3), (-179.8, -16.6), (179.7, -16.6)])
    zones = gpd.GeoDataFrame(
        {"zone_id": ["fiji-antimeridian", "svalbard", "nairobi-3857"]},
        geometry=[fiji, box(15.5, 78.1, 15.7, 78.3), box(36.8, -1.35, 36.95, -1.25)],
        crs="EPSG:4326",
    )
    merc = zones.iloc[2:].to_crs("EPSG:3857")
    both = pd.concat([zones.iloc[:2], merc.to_crs("EPSG:4326")])
    gpd.GeoDataFrame(both, crs="EPSG:4326").to_file(work / "config/zones/awkward.geojson")
    edit_config(work, lambda c: c["zones"].update(path="config/zones/awkward.geojson"))
    edit_config(work, lambda c: c["months"].update(start="2019-01", end="2019-01"))
    snakemake(work)
    table = read_table(work / "results/zonal_stats.csv").set_index("zone_id")
    assert table.loc["svalbard", "quality"] == "outside_coverage"
    assert table.loc["svalbard", "pixels"] == 0 and np.isnan(table.loc["svalbard", "mean"])
    assert table.loc["fiji-antimeridian", "pixels"] > 6
    assert table.loc["nairobi-3857", "quality"] in ("ok", "partly_observed")
    fetched = " ".join(eog_server.file_gets())
    # the antimeridian zone needs both ends of the globe, not the tile between
    assert "00N180W" in fetched and "00N060E" in fetched
    assert "75N180W" not in fetched and "75N060E" not in fetched


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c.update(colour="red"), "Additional properties are not allowed ('colour'"),
        (lambda c: c["eog"].update(product="vcm"), "'vcm' is not one of ['vcmcfg', 'vcmslcfg']"),
        (lambda c: c["download"].update(attempts="many"), "'many' is not of type 'integer'"),
        (lambda c: c["months"].update(end="2019-1"), "does not match"),
        (lambda c: c["months"].update(start=[2019, 1]), "[2019, 1] is not of type"),
        (lambda c: c["stats"].update(weighting="area"),
         "'area' is not one of ['coverage', 'all_touched']"),
        (lambda c: c.update(sources=["viirs"]), "is not valid under any of the given schemas"),
    ],
)  # fmt: skip
def test_bad_config_names_the_key(eog_server, tmp_path, change, message):
    work = workflow_dir(tmp_path, eog_server)
    edit_config(work, lambda c: c.setdefault("stats", {}))
    edit_config(work, change)
    p = snakemake(work, check=False)
    assert p.returncode != 0
    assert message in last_line(p)
    assert not (work / "results").exists()


def test_configs_of_earlier_versions_are_upgraded_with_a_warning(eog_server, tmp_path):
    """The single `source:` block of earlier versions (EOG's settings, the source names,
    refresh_listings) and the retired client keys: read as the new keys, each said."""
    work = workflow_dir(tmp_path, eog_server)

    def old_shape(c):
        eog = c.pop("eog")
        c.pop("sources", None)
        c.pop("listings", None)
        c["source"] = {
            "name": "eog",
            "base_url": eog["base_url"],
            "pixel_arcsec": eog["pixel_arcsec"],
            "auth": {**eog["auth"], "client_id": "eogdata_oidc", "client_secret": "2677ad81"},
            "refresh_listings": False,
        }
        c["months"] = {"start": "2019-01", "end": "2019-01"}

    edit_config(work, old_shape)
    p = snakemake(work, "results/zonal_stats.csv")
    out = p.stdout + p.stderr
    assert "source.auth.client_id is no longer used" in out
    assert "set EOG_CLIENT_ID in the environment instead" in out
    assert "config key source.base_url is now eog.base_url" in out
    assert "config key source.name is now sources" in out
    assert "config key source.refresh_listings is now listings.refresh" in out
    assert "2677ad81" not in out


def test_a_token_given_directly_never_reaches_a_file(eog_server, tmp_path):
    """EOG_TOKEN (one issued by the stand-in): grep everything the run leaves."""
    work = workflow_dir(tmp_path, eog_server)
    edit_config(work, lambda c: c["months"].update(start="2019-01", end="2019-01"))
    token = eog_server.issue_token(username="alice")
    snakemake(work, env={"EOG_TOKEN": token})
    assert (work / "results/zonal_stats.csv").exists()
    assert files_containing(work, token, PASSWORD, CLIENT_SECRET) == []
