"""The optional mosaic (``mosaic.keep``): rule ``mosaic_month`` and ``sezlights.mosaic``.

Restored from the tests of the mosaic-first layout (``test_mosaic_stats.py``): the kept
mosaic is a Cloud-Optimized GeoTIFF, and a file that is not on the source's grid is
refused rather than placed somewhere wrong. The mosaic is also checked pixel by pixel
against the synthetic globe assembled in numpy.
"""

from __future__ import annotations

import runpy
import shutil
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from helpers import PIXEL_ARCSEC, REPO, SERVER_PATH, eog_globe, make_config
from shapely.geometry import box

from sezlights import sources
from sezlights.errors import UserError
from sezlights.mosaic import build_mosaic
from sezlights.zones import write_zones

MONTH = "2019-01"


@pytest.fixture
def archives(eog_tree):
    folder = eog_tree / SERVER_PATH / "2019/201901/vcmcfg"
    return {p.name.split("_")[3]: p for p in folder.glob("*.tgz")}


def eog(pixel_arcsec=PIXEL_ARCSEC):
    return sources.get("eog", make_config(sources=["eog"], eog={"pixel_arcsec": pixel_arcsec}))


def manifest_of(files, path):
    """The month's manifest naming ``files`` (in their folder)."""
    from helpers import local_granules

    from sezlights.manifest import Manifest

    granules, _ = local_granules(files, eog())
    m = Manifest("eog", MONTH, granules, series=[{"product": "vcmcfg", "satellite": "npp"}])
    m.write(path)
    return path


def test_the_kept_mosaic_is_a_cloud_optimized_geotiff(archives, tmp_path, step_logging):
    """mosaic_month's script, as Snakemake runs it (a stand-in for its `snakemake` object),
    over zones on both sides of 60W: two tiles stitched by integer offsets."""
    zones = gpd.GeoDataFrame(
        {"zone_id": ["west", "east"]},
        geometry=[box(-63.0, 8.0, -61.0, 9.5), box(-59.0, 9.0, -58.0, 11.0)],
        crs=4326,
    )
    write_zones(zones, tmp_path / "resources/zones.gpkg")
    out = tmp_path / "resources/mosaic/eog" / MONTH
    job = SimpleNamespace(
        input=SimpleNamespace(
            files=[str(archives["75N180W"].parent)],
            manifest=str(
                manifest_of([archives["75N180W"], archives["75N060W"]], tmp_path / "m.json")
            ),
            zones=str(tmp_path / "resources/zones.gpkg"),
        ),
        output=SimpleNamespace(
            radiance=str(out / "radiance.tif"), coverage=str(out / "coverage.tif")
        ),
        params=SimpleNamespace(
            scratch=str(tmp_path / "scratch"),
            source={"name": "eog", "settings": {"pixel_arcsec": PIXEL_ARCSEC}},
        ),
        wildcards=SimpleNamespace(source="eog", month=MONTH),
        config=make_config(sources=["eog"], eog={"pixel_arcsec": PIXEL_ARCSEC}),
        log=[str(tmp_path / "mosaic.log")],
        rule="mosaic_month",
    )
    runpy.run_path(str(REPO / "workflow/scripts/mosaic_month.py"), {"snakemake": job})
    rad, cvg, lattice = eog_globe(MONTH)
    win = lattice.window_for_bounds(tuple(zones.total_bounds), pad=1)
    rows = slice(int(win.row_off), int(win.row_off + win.height))
    cols = slice(int(win.col_off), int(win.col_off + win.width))
    for band, globe in (("radiance", rad), ("coverage", cvg)):
        with rasterio.open(out / f"{band}.tif") as ds:
            assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
            assert ds.crs.to_epsg() == 4326 and ds.dtypes == ("float32",)
            assert ds.transform.almost_equals(lattice.window_transform(win))
            np.testing.assert_array_equal(ds.read(1), globe[rows, cols])
    assert not list((tmp_path / "scratch").glob(".mosaic-*"))  # its temporary files are gone


def series_of(files):
    from helpers import local_granules

    return {("vcmcfg", "npp"): local_granules(files, eog())[0]}


def test_a_file_on_another_grid_is_refused(archives, tmp_path):
    bounds = (100.0, -2.0, 102.0, -1.0)  # in tile 00N060E
    out = {"radiance": tmp_path / "r.tif", "coverage": tmp_path / "c.tif"}
    # the archives are on the 600" lattice; the config says 300"
    with pytest.raises(UserError, match='is not on the configured 300" lattice'):
        build_mosaic(series_of([archives["00N060E"]]), eog(300), bounds, out,
                     files=archives["00N060E"].parent, scratch=tmp_path / "s")  # fmt: skip
    # a tile put where another belongs (its name says 00N060W)
    moved = tmp_path / archives["00N060E"].name.replace("00N060E", "00N060W")
    shutil.copy(archives["00N060E"], moved)
    with pytest.raises(UserError, match="not those of tile"):
        build_mosaic(series_of([moved]), eog(), (-50.0, -2.0, -48.0, -1.0), out,
                     files=tmp_path, scratch=tmp_path / "s")  # fmt: skip
    assert not any(p.exists() for p in out.values())
    assert not list((tmp_path / "s").glob(".mosaic-*"))
