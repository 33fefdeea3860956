"""Statistics researchers can trust, checked three ways on real files.

- An independent oracle (tests/helpers.py ``oracle``): shapely intersects every
  pixel box near the zone with it (no raster library), on the synthetic globe
  assembled in numpy (EOG: the generator's arrays; Black Marble: the HDF5 files read
  back with h5py alone); pixel-varying radiance with scattered unobserved pixels.
- exactextract (coverage-weighted ``count``, ``sum``, ``mean``, ``min``, ``max``,
  ``stdev``) over the month's mosaic with unobserved pixels masked, for ``coverage``
  weighting.
- rasterstats (``all_touched=True``) over the same mosaic, for ``all_touched``.

The pipeline's path: the pixel index (sezlights.index), the gather from the real
EOG archives and Black Marble HDF5 files (sezlights.zonal via each source's
``bands``), and the reduction.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from helpers import (
    PIXEL,
    blackmarble_globe,
    eog_globe,
    local_granules,
    make_config,
    oracle,
    stats_of,
)
from sezlights_standin import blackmarble_tiles, eog_tiles
from shapely.geometry import Polygon, box

from sezlights import index, sources, tiffrows, zonal
from sezlights.mosaic import build_mosaic
from sezlights.zones import load_zones

MONTH = "2019-02"  # an odd month: the synthetic cloudy box over Coega has no observation
STAMP = "201903051200"
REL = 1e-4


def zones_frame(tmp_path) -> gpd.GeoDataFrame:
    p = PIXEL
    # a pixel of the EOG lattice fully inside a zone: its corners lie on (k + 1/2) p
    corner = (-0.5 * p + 200 * p, 5.5 * p)
    geoms = {
        "sub-pixel": box(38.4695, 7.0495, 38.4725, 7.0525),
        # EOG's tile corner (60E, 0N) is a pixel centre (tiles start half a pixel off)
        "sub-pixel-tile-corner": box(60.0 - 0.001, -0.001, 60.0 + 0.001, 0.001),
        "tile-corner": box(59.71, -0.33, 60.42, 0.25),  # 60E and the equator: four tiles
        "straddle-60W": box(-60.31, 10.03, -59.73, 10.38),
        "rotated-city": shapely.affinity.rotate(box(36.8, -1.6, 37.2, -1.3), 27),
        "two-parts": shapely.MultiPolygon(
            [box(32.0, 0.5, 32.2, 0.7), box(-59.9, 10.0, -59.8, 10.1)]
        ),
        # two parts a few pixels apart: their windows overlap, so they are one cluster
        "close-parts": shapely.MultiPolygon(
            [box(36.0, -1.0, 36.1, -0.95), box(36.12, -1.0, 36.4, -0.7)]
        ),
        "cloudy": box(25.55, -33.9, 25.8, -33.7),  # wholly unobserved in MONTH
        "half-cloudy": box(25.9, -33.9, 26.3, -33.2),  # partly in the cloudy box
        "dark-sea": box(-30.03, -20.05, -29.38, -19.71),
        "aligned": box(
            corner[0] + 1e-9, corner[1] - 3 * p + 1e-9, corner[0] + 3 * p - 1e-9, corner[1] - 1e-9
        ),
        "north-of-coverage": box(10.1, 76.1, 10.4, 76.3),
        "antimeridian": box(179.6, -17.9, 180.4, -17.5),
        "ring": Polygon(
            [(31, 1), (33, 1), (33, 3), (31, 3)],
            [[(31.5, 1.5), (32.5, 1.5), (32.5, 2.5), (31.5, 2.5)]],
        ),
    }  # fmt: skip
    path = tmp_path / "zones.geojson"
    gpd.GeoDataFrame({"id": list(geoms)}, geometry=list(geoms.values()), crs="EPSG:4326").to_file(
        path
    )
    return load_zones(path, "id")


@pytest.fixture(scope="module")
def zones(tmp_path_factory):
    return zones_frame(tmp_path_factory.mktemp("zones"))


@pytest.fixture(scope="module")
def eog_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("eog-archives")
    return [
        eog_tiles.write_archive(
            d / eog_tiles.archive_name(MONTH, t, "vcmcfg", STAMP), MONTH, t, PIXEL
        )
        for t in eog_tiles.TILE_IDS
    ]


def eog_source(**stats):
    return sources.get("eog", make_config(sources=["eog"], stats=stats))


def run(zones, files, src, weighting="coverage", min_cloud_free=1, scratch=None, threads=1):
    return stats_of(zones, files, src, MONTH, weighting, min_cloud_free, scratch, threads)


@pytest.mark.parametrize("weighting", ["coverage", "all_touched"])
@pytest.mark.parametrize("min_cloud_free", [1, 3])
def test_eog_statistics_match_the_oracle(zones, eog_files, tmp_path, weighting, min_cloud_free):
    df = run(zones, eog_files, eog_source(), weighting, min_cloud_free, tmp_path).set_index(
        "zone_id"
    )
    rad, cvg, lat = eog_globe(MONTH)
    for zid, geom in zip(zones.zone_id, zones.geometry, strict=True):
        ref = oracle(geom, rad, cvg, lat, weighting=weighting, min_cloud_free=min_cloud_free)
        row = df.loc[zid]
        assert row["quality"] == ref["quality"], (zid, ref)
        for k, v in ref.items():
            if k != "quality":
                assert row[k] == pytest.approx(v, rel=REL, abs=1e-9), (zid, k)
    q = df["quality"]
    assert q["north-of-coverage"] == "outside_coverage"
    assert np.isnan(df.loc["north-of-coverage", ["sum", "mean", "observed_share"]]).all()
    assert q["cloudy"] == "no_cloud_free"
    assert df.loc["cloudy", ["sum", "mean", "median", "min", "max", "std"]].isna().all()
    assert df.loc["cloudy", "observed_share"] == 0
    assert q["half-cloudy"] == "partly_observed"
    assert 0 < df.loc["half-cloudy", "observed_share"] < 1
    if weighting == "coverage":
        # a zone smaller than a pixel weighs that pixel by the share it covers
        area = zones.set_index("zone_id").geometry["sub-pixel"].area / PIXEL**2
        assert df.loc["sub-pixel", "pixels"] == pytest.approx(area, rel=1e-6)
        assert df.loc["sub-pixel", "sum"] == pytest.approx(area * df.loc["sub-pixel", "mean"])
        assert df.loc["aligned", "pixels"] == pytest.approx(9, rel=1e-6)
    else:
        assert df.loc["sub-pixel", "pixels"] == 1
        assert df.loc["sub-pixel-tile-corner", "pixels"] == 1


def test_zero_radiance_is_a_value_and_unobserved_pixels_are_left_out(zones, eog_files):
    """EOG writes radiance 0 where cf_cvg is 0: left out, while an observed 0 is dark."""
    rad, cvg, lat = eog_globe(MONTH)
    observed_zero = np.isclose(rad, 0) & (cvg >= 1)
    assert observed_zero.sum() > 1000 and ((cvg == 0) & (rad == 0)).sum() > 100
    df = run(zones, eog_files, eog_source()).set_index("zone_id")
    assert df.loc["dark-sea", "min"] <= 0 <= df.loc["dark-sea", "max"]
    assert df.loc["dark-sea", "quality"] in ("ok", "partly_observed")


@pytest.fixture(scope="module")
def mosaic(eog_files, zones, tmp_path_factory):
    """The month's mosaic over the zones (radiance NaN where unobserved), for the
    references; made by sezlights.mosaic, checked against the numpy globe first."""
    d = tmp_path_factory.mktemp("mosaic")
    out = {"radiance": d / "radiance.tif", "coverage": d / "coverage.tif"}
    bounds = (-61.0, -35.0, 61.0, 11.0)
    granules, folder = local_granules(eog_files, eog_source())
    build_mosaic({("vcmcfg", "npp"): granules}, eog_source(), bounds, out, files=folder)
    rad, cvg, lat = eog_globe(MONTH)
    with rasterio.open(out["radiance"]) as r, rasterio.open(out["coverage"]) as c:
        r0 = round((lat.north - r.transform.f) / PIXEL)
        c0 = round((r.transform.c - lat.west) / PIXEL)
        assert np.array_equal(r.read(1), rad[r0 : r0 + r.height, c0 : c0 + r.width])
        assert np.array_equal(c.read(1), cvg[r0 : r0 + r.height, c0 : c0 + r.width])
        prof, data, cv = r.profile, r.read(1), c.read(1)
    data[cv < 1] = np.nan  # unobserved
    masked = d / "observed.tif"
    with rasterio.open(masked, "w", **prof) as dst:
        dst.write(data, 1)
    return masked


def in_mosaic(zones):
    keep = [
        "sub-pixel", "tile-corner", "straddle-60W", "rotated-city", "half-cloudy", "dark-sea",
        "close-parts", "ring",
    ]  # fmt: skip
    return zones[zones.zone_id.isin(keep)].reset_index(drop=True)


def test_coverage_weighting_matches_exactextract(zones, eog_files, mosaic):
    """Not the median: exactextract's is its weighted type-7 quantile over equal values
    merged (raster_stats.h ``quantile``), which interpolates between neighbouring values
    by their weights; ours is the value where the cumulative weight reaches half
    (sezlights.zonal.weighted_median), checked against the oracle above and, with
    equal weights, against rasterstats below."""
    import exactextract  # a dev dependency: a missing one fails, never skips

    sub = in_mosaic(zones)
    ours = run(sub, eog_files, eog_source()).set_index("zone_id")
    theirs = exactextract.exact_extract(
        str(mosaic), sub, ["count", "sum", "mean", "min", "max", "stdev"],
        include_cols=["zone_id"], output="pandas",
    ).set_index("zone_id")  # fmt: skip
    for zid in sub.zone_id:
        a, b = ours.loc[zid], theirs.loc[zid]
        assert a["pixels_observed"] == pytest.approx(b["count"], rel=REL), zid
        for k, e in (("sum", "sum"), ("mean", "mean"), ("std", "stdev")):
            assert a[k] == pytest.approx(b[e], rel=REL, abs=1e-6), (zid, k)
        for k in ("min", "max"):
            assert a[k] == pytest.approx(b[k], rel=REL), (zid, k)


def test_all_touched_matches_rasterstats(zones, eog_files, mosaic):
    from rasterstats import zonal_stats

    sub = in_mosaic(zones)
    ours = run(sub, eog_files, eog_source(), weighting="all_touched").set_index("zone_id")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = zonal_stats(
            list(sub.geometry), str(mosaic), all_touched=True, nodata=np.nan,
            stats=["count", "sum", "mean", "median", "min", "max", "std"],
        )  # fmt: skip
    for zid, b in zip(sub.zone_id, theirs, strict=True):
        a = ours.loc[zid]
        assert a["pixels_observed"] == b["count"], zid
        for k in ("sum", "mean", "median", "min", "max", "std"):
            assert a[k] == pytest.approx(b[k], rel=REL, abs=1e-6), (zid, k)


@pytest.mark.parametrize("path", ["header", "stream", "disk"])
def test_every_way_of_reading_rows_gives_the_same_numbers(
    zones, eog_files, tmp_path, monkeypatch, path
):
    """Rows come from the header bytes (small tiles), from the decompressed stream after
    a short header (as for real tiles), or, for other layouts, from a band unpacked to
    disk; the scratch folder is cleaned, also of what a killed job left."""
    reference = run(zones, eog_files, eog_source())
    used = []
    real_unpack = tiffrows.StreamedTiff._unpack
    monkeypatch.setattr(
        tiffrows.StreamedTiff, "_unpack", lambda self, s: used.append(1) or real_unpack(self, s)
    )
    if path == "stream":
        monkeypatch.setattr(tiffrows, "HEADER_BYTES", 16384)
    if path == "disk":
        monkeypatch.setattr(tiffrows, "_strip_plan", lambda *a: None)
    scratch = tmp_path / "scratch"
    (scratch / ".gather-stale").mkdir(parents=True)  # as a killed job leaves it
    got = run(zones, eog_files, eog_source(), scratch=scratch)
    pd.testing.assert_frame_equal(got, reference)
    assert bool(used) == (path == "disk")
    assert list(scratch.iterdir()) == [], "scratch not cleaned"


def test_files_read_in_threads_equal_one_thread(zones, eog_files):
    src = eog_source()
    idx = index.build_index(zones, src.tiles)
    granules, folder = local_granules(eog_files, src)
    one = zonal.gather(idx, granules, src, folder)
    many = zonal.gather(idx, granules, src, folder, threads=3)
    for kind in one:
        np.testing.assert_array_equal(one[kind], many[kind])


def test_a_file_on_another_grid_is_refused(zones, eog_files):
    from sezlights.errors import UserError

    src = sources.get("eog", make_config(eog={"pixel_arcsec": 300}))
    idx = index.build_index(zones, src.tiles)
    granules, folder = local_granules(eog_files[:1], src)
    with pytest.raises(UserError, match='not on the configured 300" lattice'):
        zonal.gather(idx, granules, src, folder)


# ---------------------------------------------------------------- Black Marble

BM_TILES = ["h21v08", "h21v09", "h22v08", "h22v09", "h23v08", "h24v08", "h20v12", "h19v07"]


@pytest.fixture(scope="module")
def bm_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("laads")
    return blackmarble_tiles.make_tree(d, MONTH, MONTH, 600, tiles=BM_TILES)


def bm_zones(tmp_path):
    geoms = {
        "h-corner": box(49.7, -0.3, 50.4, 0.25),  # 50E and the equator: four BM tiles
        "sub-pixel": box(36.98, -1.43, 36.982, -1.428),
        "city": shapely.affinity.rotate(box(36.8, -1.6, 37.2, -1.3), 27),
        "absent-tile": box(100.2, 10.2, 100.4, 10.4),  # h28v07: not published
        "partly-absent": box(-60.3, 9.8, -59.6, 10.4),  # h11v07 and h12v07: neither listed
        "cloudy": box(25.55, -33.9, 25.8, -33.7),
    }
    path = tmp_path / "bm.geojson"
    gpd.GeoDataFrame({"id": list(geoms)}, geometry=list(geoms.values()), crs="EPSG:4326").to_file(
        path
    )
    return load_zones(path, "id")


@pytest.mark.parametrize("quality", [(0,), (0, 1, 2)])
def test_blackmarble_statistics_match_the_oracle(bm_files, tmp_path, quality):
    zones = bm_zones(tmp_path)
    src = sources.get(
        "blackmarble", make_config(blackmarble={"quality": list(quality), "products": ["VNP46A3"]})
    )
    df = run(zones, bm_files, src).set_index("zone_id")
    rad, num, covered, lat = blackmarble_globe(MONTH, BM_TILES, quality=quality, files=bm_files)
    for zid, geom in zip(zones.zone_id, zones.geometry, strict=True):
        ref = oracle(geom, rad, num, lat, covered=covered)
        row = df.loc[zid]
        assert row["quality"] == ref["quality"], (zid, ref)
        for k, v in ref.items():
            if k != "quality":
                assert row[k] == pytest.approx(v, rel=REL, abs=1e-9), (zid, k)
    assert df.loc["absent-tile", "quality"] == "outside_coverage"
    assert df.loc["h-corner", "pixels"] == pytest.approx(0.7 * 0.55 / PIXEL**2, rel=1e-6)


def test_blackmarble_fill_and_rejected_quality_are_unobserved(bm_files):
    a = blackmarble_tiles.tile_arrays(MONTH, "h21v09", PIXEL)
    v = "NearNadir_Composite_Snow_Free"
    q = a[v + "_Quality"]
    assert (q == 255).any() and (q == 1).any() and (q == 2).any() and (q == 0).any()
    import h5py

    src = sources.get("blackmarble", make_config())
    path = next(p for p in bm_files if ".h21v09." in p.name)
    with h5py.File(path, "r") as h5:
        (band,) = src.bands(h5, path.name, ("radiance",))
        rows = dict(band.rows(np.arange(a[v].shape[0])))
    got = np.stack([rows[r] for r in range(a[v].shape[0])])
    expect = a[v].astype(np.float32)
    expect[(q != 0) | (a[v] == np.float32(-999.9))] = np.nan
    np.testing.assert_array_equal(got, expect)
