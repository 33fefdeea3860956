"""Mosaic and statistics, checked against an independent computation.

The reference assembles the synthetic globe with plain numpy (tiles side by side)
and selects a zone's pixels with shapely: every pixel whose square overlaps the
zone's interior. No rasterio, rasterstats or mosaic code is involved.
"""

import numpy as np
import pytest
import rasterio
import shapely
from conftest import PIXEL, global_arrays, global_transform
from shapely.geometry import box

from sezlights import grid, synthetic
from sezlights.mosaic import build_mosaic
from sezlights.stats import month_stats
from sezlights.zones import load_zones

MONTH = "2019-02"


def reference_stats(geom, rad, cvg, transform):
    minx, miny, maxx, maxy = geom.bounds
    c0 = int((minx - transform.c) // PIXEL) - 1
    c1 = int((maxx - transform.c) // PIXEL) + 2
    r0 = int((transform.f - maxy) // PIXEL) - 1
    r1 = int((transform.f - miny) // PIXEL) + 2
    rows, cols = np.mgrid[r0:r1, c0:c1]
    x = transform.c + cols * PIXEL
    y = transform.f - rows * PIXEL
    boxes = shapely.box(x, y - PIXEL, x + PIXEL, y)
    hit = shapely.intersects(boxes, geom) & ~shapely.touches(boxes, geom)
    inside = (rows >= 0) & (rows < rad.shape[0])
    sel = hit & inside
    v = rad[rows[sel], cols[sel]].astype("float64")
    c = cvg[rows[sel], cols[sel]].astype("float64")
    return dict(
        pixel_count=v.size,
        sum=v.sum(),
        mean=v.mean(),
        median=np.median(v),
        min=v.min(),
        max=v.max(),
        std=v.std(),
        cf_cvg_mean=c.mean(),
        cf_cvg_min=c.min(),
    )


@pytest.fixture(scope="module")
def month_archives(tmp_path_factory):
    d = tmp_path_factory.mktemp("arch")
    return {
        t: synthetic.write_archive(
            d / synthetic.archive_name(MONTH, t, "vcmcfg", "201903051200"), MONTH, t, PIXEL
        )
        for t in grid.TILE_IDS
    }


def test_mosaic_equals_one_big_raster(month_archives, tmp_path):
    bounds = (-70.0, -10.0, 70.0, 10.0)  # crosses 60W, 0 and 60E
    tiles = grid.tiles_for_bounds(bounds, PIXEL)
    out = {"avg_rade9h": tmp_path / "rad.tif", "cf_cvg": tmp_path / "cvg.tif"}
    build_mosaic([month_archives[t] for t in tiles], bounds, PIXEL, out)
    rad, cvg = global_arrays(MONTH)
    gt = global_transform()
    with rasterio.open(out["avg_rade9h"]) as m, rasterio.open(out["cf_cvg"]) as c:
        r0 = round((gt.f - m.transform.f) / PIXEL)
        c0 = round((m.transform.c - gt.c) / PIXEL)
        assert np.array_equal(m.read(1), rad[r0 : r0 + m.height, c0 : c0 + m.width])
        assert np.array_equal(c.read(1), cvg[r0 : r0 + m.height, c0 : c0 + m.width])
        assert np.isnan(m.nodata)
    assert not list(tmp_path.glob(".mosaic-*")), "scratch folder left behind"


def test_kept_mosaic_is_a_cog(month_archives, tmp_path):
    out = {"avg_rade9h": tmp_path / "rad.tif"}
    build_mosaic([month_archives["00N060W"]], (36.0, -2.0, 38.0, -1.0), PIXEL, out, cog=True)
    with rasterio.open(out["avg_rade9h"]) as ds:
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"


def test_mosaic_rejects_wrong_grid(month_archives, tmp_path):
    from sezlights.errors import UserError

    with pytest.raises(UserError, match="does not match the configured grid"):
        build_mosaic(
            [month_archives["00N060W"]],
            (36.0, -2.0, 38.0, -1.0),
            PIXEL / 2,
            {"avg_rade9h": tmp_path / "r.tif"},
        )


def _zones_file(tmp_path):
    import geopandas as gpd

    geoms = {
        "straddle-equator": box(32.31, -0.27, 32.77, 0.23),
        "straddle-60E": box(59.71, 25.05, 60.42, 25.52),
        "straddle-60W": box(-60.31, 10.03, -59.73, 10.38),
        "sub-pixel": box(38.4695, 7.0495, 38.4725, 7.0525),
        "dark-sea": box(-30.03, -20.05, -29.38, -19.71),  # all-zero or noise pixels
        "cloudy": box(25.55, -33.9, 25.8, -33.7),
        "north-of-coverage": box(10.1, 76.1, 10.4, 76.3),
    }
    path = tmp_path / "zones.geojson"
    gpd.GeoDataFrame({"id": list(geoms)}, geometry=list(geoms.values()), crs="EPSG:4326").to_file(
        path
    )
    return load_zones(path, "id")


def test_stats_match_independent_computation(month_archives, tmp_path):
    zones = _zones_file(tmp_path)
    needed = sorted(
        {
            t
            for b in zones.geometry.bounds.itertuples(index=False)
            for t in grid.tiles_for_bounds(b, PIXEL)
        }
    )
    out = {"avg_rade9h": tmp_path / "rad.tif", "cf_cvg": tmp_path / "cvg.tif"}
    build_mosaic([month_archives[t] for t in needed], tuple(zones.total_bounds), PIXEL, out)
    df = month_stats(zones, str(out["avg_rade9h"]), str(out["cf_cvg"]), MONTH).set_index("zone_id")
    rad, cvg = global_arrays(MONTH)
    gt = global_transform()
    for zid, geom in zip(zones.zone_id, zones.geometry, strict=True):
        row = df.loc[zid]
        if zid == "north-of-coverage":
            assert (
                row.pixel_count == 0 and np.isnan(row["mean"]) and row.quality == "outside_coverage"
            )
            continue
        ref = reference_stats(geom, rad, cvg, gt)
        for k, v in ref.items():
            assert row[k] == pytest.approx(v, rel=1e-5, abs=1e-4), (zid, k)
    assert df.loc["sub-pixel"].pixel_count == 1
    assert df.loc["straddle-equator"].pixel_count > 4
    # month 2019-02 is a cloudy month over Coega: no cloud-free observation, radiance 0
    assert df.loc["cloudy"].quality == "no_cloud_free"
    assert df.loc["cloudy"]["mean"] == 0.0 and df.loc["cloudy"].pixel_count > 0


def test_zero_is_a_value_not_nodata(tmp_path):
    import geopandas as gpd

    pixel = 1.0
    prof = dict(
        driver="GTiff",
        width=4,
        height=4,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=rasterio.transform.from_origin(0, 4, pixel, pixel),
        nodata=float("nan"),
    )
    rad = np.array([[0, 0, 4, 4], [0, 0, 4, 4], [1, 1, 1, 1], [1, 1, 1, 1]], dtype="float32")
    for name, arr in (("rad.tif", rad), ("cvg.tif", np.full((4, 4), 3, "float32"))):
        with rasterio.open(tmp_path / name, "w", **prof) as ds:
            ds.write(arr, 1)
    zones = gpd.GeoDataFrame(
        {"zone_id": ["z"]}, geometry=[box(0.2, 2.2, 3.8, 3.8)], crs="EPSG:4326"
    )
    row = month_stats(zones, str(tmp_path / "rad.tif"), str(tmp_path / "cvg.tif"), "2019-01").iloc[
        0
    ]
    assert row.pixel_count == 8 and row["mean"] == 2.0 and row["min"] == 0.0


def test_stats_agree_with_exactextract_on_full_pixels(month_archives, tmp_path):
    """exactextract's coverage-weighted engine agrees where every pixel is fully inside."""
    exactextract = pytest.importorskip("exactextract")
    import geopandas as gpd

    # a zone whose edges follow pixel edges: coverage 1 for every touched pixel
    x0 = -0.5 * PIXEL + 200 * PIXEL
    geom = box(
        x0 + 1e-9,
        5 * PIXEL + PIXEL / 2 - 3 * PIXEL + 1e-9,
        x0 + 3 * PIXEL - 1e-9,
        5 * PIXEL + PIXEL / 2 - 1e-9,
    )
    out = {"avg_rade9h": tmp_path / "rad.tif", "cf_cvg": tmp_path / "cvg.tif"}
    build_mosaic([month_archives["75N060W"]], geom.bounds, PIXEL, out)
    zones = gpd.GeoDataFrame({"zone_id": ["z"]}, geometry=[geom], crs="EPSG:4326")
    ours = month_stats(zones, str(out["avg_rade9h"]), str(out["cf_cvg"]), MONTH).iloc[0]
    theirs = exactextract.exact_extract(
        str(out["avg_rade9h"]), zones, ["count", "sum", "mean", "min", "max"], output="pandas"
    ).iloc[0]
    assert ours.pixel_count == pytest.approx(theirs["count"], abs=1e-3)
    for k in ("sum", "mean", "min", "max"):
        assert ours[k] == pytest.approx(theirs[k], rel=1e-5)


@pytest.mark.parametrize("path", ["header", "stream", "disk"])
def test_fast_path_equals_rasterstats(month_archives, tmp_path, monkeypatch, path):
    """The per-month gather over a once-built pixel index gives what rasterstats gives.

    Rows are taken from the header bytes (small tiles), from the decompressed
    stream after a short header (as for real tiles), or, for layouts other than a
    plain stripped GeoTIFF, from a band unpacked to disk.
    """
    import geopandas as gpd
    import pandas as pd

    from sezlights import zonal
    from sezlights.zones import load_zones

    used = []
    for fn in ("_strip_plan", "_points_via_disk"):
        real = getattr(zonal, fn)
        monkeypatch.setattr(zonal, fn, lambda *a, _real=real, _fn=fn: used.append(_fn) or _real(*a))
    if path == "stream":
        monkeypatch.setattr(zonal, "HEADER_BYTES", 16384)
    if path == "disk":
        monkeypatch.setattr(zonal, "_strip_plan", lambda *a: used.append("_strip_plan"))

    zones = _zones_file(tmp_path)
    extra = gpd.GeoDataFrame(
        {"id": ["antimeridian", "two-parts"]},
        geometry=[
            box(179.6, -17.9, 180.4, -17.5),  # cut into two parts at 180
            shapely.MultiPolygon([box(32.0, 0.5, 32.2, 0.7), box(-59.9, 10.0, -59.8, 10.1)]),
        ],
        crs="EPSG:4326",
    )
    extra.to_file(tmp_path / "extra.geojson")
    zones = pd.concat([zones, load_zones(tmp_path / "extra.geojson", "id")], ignore_index=True)

    index = zonal.build_index(zones, PIXEL)
    zonal.save_index(index, tmp_path / "index.npz")
    index = zonal.load_index(tmp_path / "index.npz")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / ".gather-stale").mkdir()  # as a killed job leaves it
    fast = zonal.reduce(index, zonal.gather(index, list(month_archives.values()), scratch), MONTH)
    assert list(scratch.iterdir()) == [], "scratch not cleaned"
    assert ("_points_via_disk" in used) == (path == "disk"), used

    out = {"avg_rade9h": tmp_path / "rad.tif", "cf_cvg": tmp_path / "cvg.tif"}
    build_mosaic(list(month_archives.values()), tuple(zones.total_bounds), PIXEL, out)
    slow = month_stats(zones, str(out["avg_rade9h"]), str(out["cf_cvg"]), MONTH)
    pd.testing.assert_frame_equal(fast, slow, check_exact=False, rtol=1e-6, atol=1e-5)

    fast = fast.set_index("zone_id")
    rad, cvg = global_arrays(MONTH)
    ref = reference_stats(
        zones.set_index("zone_id").geometry["two-parts"], rad, cvg, global_transform()
    )
    assert fast.loc["two-parts", "pixel_count"] == ref["pixel_count"]
    assert fast.loc["two-parts", "sum"] == pytest.approx(ref["sum"], rel=1e-6)
    assert fast.loc["antimeridian", "pixel_count"] > 0
    assert fast.loc["north-of-coverage", "quality"] == "outside_coverage"


def test_fast_path_rejects_wrong_grid(month_archives, tmp_path):
    from sezlights import zonal
    from sezlights.errors import UserError

    zones = _zones_file(tmp_path)
    index = zonal.build_index(zones, PIXEL / 2)
    with pytest.raises(UserError, match="not the EOG grid"):
        zonal.gather(index, [month_archives["00N060W"]], tmp_path)


def test_gather_in_threads_equals_one_thread(month_archives, tmp_path):
    """Archives read at once fill their own tiles' pixels: the same values as in turn."""
    from sezlights import zonal

    zones = _zones_file(tmp_path)
    index = zonal.build_index(zones, PIXEL)
    archives = list(month_archives.values())
    assert len(archives) > 2
    one = zonal.gather(index, archives, tmp_path)
    many = zonal.gather(index, archives, tmp_path, threads=3)
    for kind in one:
        np.testing.assert_array_equal(one[kind], many[kind])
    assert np.isfinite(one["avg_rade9h"]).sum() > 0
