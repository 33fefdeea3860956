"""The pixel index's coverage fractions, against shapely intersecting every pixel box
with the zone (no raster library), on the real 15" lattices of both sources."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS
from rasterio.windows import Window
from shapely.geometry import Point, Polygon, box

from sezlights import index, table, zonal
from sezlights import zones as zones_mod
from sezlights.sources import blackmarble, eog
from sezlights.zones import split_antimeridian

P = 15 / 3600  # the real resolution: the index is resolution-agnostic
EOG = eog.tileset(P)
BM = blackmarble.tileset(P)


def by_shapely(geom, lattice, window: Window) -> np.ndarray:
    """Each pixel's share of its area inside ``geom``: shapely, box by box."""
    h, w = int(window.height), int(window.width)
    rows, cols = np.mgrid[0:h, 0:w]
    x = lattice.west + (window.col_off + cols) * lattice.pixel
    y = lattice.north - (window.row_off + rows) * lattice.pixel
    boxes = shapely.box(x, y - lattice.pixel, x + lattice.pixel, y)
    return shapely.area(shapely.intersection(boxes, geom)) / lattice.pixel**2


def star(cx, cy, r_out, r_in, points=7, turn=0.3):
    a = np.linspace(0, 2 * np.pi, 2 * points, endpoint=False) + turn
    r = np.where(np.arange(a.size) % 2 == 0, r_out, r_in)
    return Polygon(np.c_[cx + r * np.cos(a), cy + r * np.sin(a)])


OUTLINES = {
    "sub-pixel": box(38.4695, 7.0495, 38.4705, 7.0502),
    "rotated": shapely.affinity.rotate(box(10.0, 5.0, 10.03, 5.02), 33),
    "concave star": star(-43.2, -22.9, 0.05, 0.012),
    "with a hole": Point(30.1, 0.2).buffer(0.04).difference(Point(30.11, 0.2).buffer(0.015)),
    "hole touching pixel lines": Polygon(
        [(0, 0), (40 * P, 0), (40 * P, 40 * P), (0, 40 * P)],
        [[(10 * P, 10 * P), (20 * P, 10 * P), (20 * P, 20 * P), (10 * P, 20 * P)]],
    ),
    "two parts in one pixel": shapely.MultiPolygon(
        [box(20.0001, 1.0001, 20.0011, 1.0011), box(20.0013, 1.0001, 20.0019, 1.0021)]
    ),
    "large, ragged": star(100.5, 13.7, 0.9, 0.5, points=23),  # 430 x 430 pixels
}


@pytest.mark.parametrize("tiles", [EOG, BM], ids=["eog", "blackmarble"])
@pytest.mark.parametrize("name", list(OUTLINES))
def test_coverage_fractions_are_exact(name, tiles):
    geom = OUTLINES[name]
    lattice = tiles.lattice
    win = lattice.window_for_bounds(geom.bounds, pad=1)
    ours = index.coverage(geom, lattice, win)
    theirs = by_shapely(geom, lattice, win)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)
    assert ours.sum() == pytest.approx(geom.area / lattice.pixel**2, rel=1e-9)


def frame(**geoms) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"zone_id": list(geoms)}, geometry=list(geoms.values()), crs="EPSG:4326"
    )


def pixel_weights(idx) -> dict[tuple[int, int], float]:
    out: dict[tuple[int, int], float] = {}
    for r, c, n, w in zip(idx["row"], idx["col"], idx["length"], idx["weight"], strict=True):
        for k in range(int(n)):
            out[(int(r), int(c) + k)] = out.get((int(r), int(c) + k), 0.0) + float(w)
    return out


def test_the_index_holds_each_pixels_share_once_per_zone():
    geom = OUTLINES["two parts in one pixel"]
    idx = index.build_index(frame(z=geom), EOG)
    got = pixel_weights(idx)
    win = EOG.lattice.window_for_bounds(geom.bounds, pad=1)
    ref = by_shapely(geom, EOG.lattice, win)
    want = {
        (int(win.row_off) + r, int(win.col_off) + c): ref[r, c]
        for r, c in zip(*np.nonzero(ref > 1e-9), strict=True)
    }
    assert got.keys() == want.keys()
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=1e-6)


@pytest.mark.parametrize("tiles", [EOG, BM], ids=["eog", "blackmarble"])
def test_a_zone_across_the_antimeridian_keeps_every_sliver(tiles):
    """EOG's lattice ends half a pixel west of 180: the sliver east of that is column 0,
    at the other end of the lattice (the zone is cut at 180 as prepare_zones cuts it)."""
    zone = box(179.995, 0.0, 180.005, 0.01)
    cut = split_antimeridian(zone)
    idx = index.build_index(frame(z=cut), tiles)
    total = float((idx["weight"] * idx["length"]).sum())
    assert total == pytest.approx(zone.area / P**2, rel=1e-6)  # 5.76 pixels
    assert 0 in idx["col"] and tiles.lattice.cols - 1 in idx["col"] + idx["length"] - 1


def test_parts_beyond_the_lattice_are_left_out():
    """EOG ends at 75N: a zone across it counts only its pixels south of 75N."""
    zone = box(10.0, 74.99, 10.01, 75.01)
    idx = index.build_index(frame(z=zone), EOG)
    total = float((idx["weight"] * idx["length"]).sum())
    inside = zone.intersection(box(-180, -65, 180, EOG.lattice.north)).area / P**2
    assert total == pytest.approx(inside, rel=1e-6)


def test_zone_area_is_geodesic():
    """Against an equal-area projection centred on the zone (pyproj's LAEA)."""
    zone = shapely.affinity.rotate(box(36.8, -1.6, 37.2, -1.3), 27)
    laea = CRS.from_proj4("+proj=laea +lat_0=-1.45 +lon_0=37 +ellps=WGS84")
    want = gpd.GeoSeries([zone], crs="EPSG:4326").to_crs(laea).area.iloc[0] / 1e6
    assert zones_mod.geodesic_area_km2(zone) == pytest.approx(want, rel=1e-4)


def test_the_readmes_worked_example():
    """README, "A worked example": a 0.6 x 0.6 pixel zone on the corner of four 15"
    pixels, built and reduced by the pipeline's own index and reduction."""
    lat = EOG.lattice
    # the corner shared by four pixels, near the equator
    r0, c0 = round(lat.north / P), 100  # row 18000: the equator's
    x0, y0 = lat.west + c0 * P, lat.north - r0 * P
    zone = box(x0 - 0.3 * P, y0 - 0.2 * P, x0 + 0.3 * P, y0 + 0.4 * P)
    idx = index.build_index(frame(**{"tiny-sez": zone}), EOG)
    weights = pixel_weights(idx)
    ul, ur, ll, lr = (r0 - 1, c0 - 1), (r0 - 1, c0), (r0, c0 - 1), (r0, c0)
    assert [round(weights[k], 6) for k in (ul, ur, ll, lr)] == [0.12, 0.12, 0.06, 0.06]
    reading = {ul: (40.0, 5), ur: (2.0, 3), ll: (0.0, 0), lr: (35.0, 1)}
    order = [  # the gathered values' order: each run's pixels in turn
        (int(r), int(c) + k)
        for r, c, n in zip(idx["row"], idx["col"], idx["length"], strict=True)
        for k in range(int(n))
    ]
    values = {
        "radiance": np.array([reading[k][0] for k in order], np.float32),
        "coverage": np.array([reading[k][1] for k in order], np.float32),
        "covered": np.ones(len(order), bool),
    }
    zt = pd.DataFrame({"zone_id": ["tiny-sez"], "area_km2": [zones_mod.geodesic_area_km2(zone)]})
    row = zonal.reduce(idx, values, zt, "2019-02", "eog", "npp", "vcmcfg").iloc[0]
    assert row["area_km2"] == pytest.approx(0.077, abs=5e-4)
    assert (row["pixels"], row["pixels_observed"]) == (pytest.approx(0.36), pytest.approx(0.30))
    assert row["observed_share"] == pytest.approx(0.8333, abs=5e-5)
    assert row["sum"] == pytest.approx(7.14) and row["mean"] == pytest.approx(23.8)
    assert (row["median"], row["min"], row["max"]) == (35, 2, 40)
    assert row["std"] == pytest.approx(17.89, abs=5e-3)
    assert row["quality"] == "partly_observed"
    at = zonal.reduce(
        idx, values, zt, "2019-02", "eog", "npp", "vcmcfg", weighting="all_touched"
    ).iloc[0]
    assert (at["pixels"], at["pixels_observed"], at["sum"]) == (4, 3, 77)
    assert at["mean"] == pytest.approx(25.67, abs=5e-3)
    # the old rule: every touched pixel weighs 1, the unobserved 0 counted as dark
    dark = zonal.reduce(idx, values, zt, "2019-02", "eog", "npp", "vcmcfg", "all_touched", 0)
    dark = dark.iloc[0]
    assert dark["mean"] == pytest.approx(19.25)


def test_the_weighted_median_is_where_the_weight_reaches_half():
    def median(v, w):
        z = np.zeros(len(v), np.int64)
        return zonal.weighted_median(z, np.array(v, float), np.array(w, float), 1)[0]

    assert median([10, 100], [0.95, 0.05]) == 10  # not the midpoint
    assert median([0, 0, 5, 7], [0.2, 0.9, 0.3, 0.4]) == median([0, 0, 5, 7], [0.9, 0.2, 0.3, 0.4])
    assert median([10, 20, 30, 25], [1, 1, 1, 1e-8]) == 20  # a sliver does not move it
    rng = np.random.default_rng(3)
    for _ in range(100):  # equal weights: numpy's median
        v = rng.normal(size=rng.integers(1, 12))
        assert median(v, np.ones(v.size)) == pytest.approx(np.median(v))


def test_numbers_are_written_without_float_noise(tmp_path):
    row = {c: np.nan for c in table.COLUMNS}
    row.update(
        zone_id="z", month="2019-02", source="eog", satellite="npp", product="vcmcfg",
        quality="ok",
        area_km2=0.07712345, pixels=23049637.0, pixels_observed=0.3600000143,
        observed_share=0.83333333, sum=7.140000343, mean=23.80000114, median=35.0,
        min=2.0, max=40.0, std=0.0, cf_cvg_mean=1.0 / 3.0, cf_cvg_min=0.0,
    )  # fmt: skip
    table.write(pd.DataFrame([row]), tmp_path / "t.csv")
    header, values = (tmp_path / "t.csv").read_text().split()
    text = dict(zip(header.split(","), values.split(","), strict=True))
    assert text["area_km2"] == "0.077" and text["observed_share"] == "0.8333"
    assert text["pixels"] == "23049637" and text["pixels_observed"] == "0.36"
    assert (text["sum"], text["mean"], text["median"], text["std"]) == ("7.14", "23.8", "35", "0")
    assert text["cf_cvg_mean"] == "0.3333333"


def test_one_value_has_no_spread():
    """Equal values with unequal weights: std is 0, not the ~1e-15 the sums leave."""
    idx = {
        "zones": np.array(1),
        "zone": np.zeros(5, np.int32), "tile": np.zeros(5, np.int16),
        "row": np.arange(5, dtype=np.int32), "col": np.zeros(5, np.int32),
        "length": np.ones(5, np.int32),
        "weight": np.array([0.13, 0.71, 0.05, 0.33, 0.97], np.float32),
    }  # fmt: skip
    values = {
        "radiance": np.full(5, 3.7, np.float32), "coverage": np.full(5, 4, np.float32),
        "covered": np.ones(5, bool),
    }  # fmt: skip
    zt = pd.DataFrame({"zone_id": ["z"], "area_km2": [1.0]})
    assert zonal.reduce(idx, values, zt, "2019-02", "eog", "npp", "vcmcfg").iloc[0]["std"] == 0.0
