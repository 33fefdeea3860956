"""Rings around zones and discs around points, checked on the ellipsoid, and their
statistics against the oracle.

The geometry is checked independently of how it was made (the pipeline buffers in a
local azimuthal equidistant projection): points are sampled around each zone, and
each one's distance to the zone's outline is measured on the WGS84 ellipsoid with
``pyproj.Geod`` (to every vertex of the outline cut every ~20 m). Inside a ring, every
sampled point lies between its two distances of the zone; outside it, none lies
clearly between them (up to the tolerance of the drawn arcs: 3e-4 of the distance,
plus the outline's 20 m cut).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from helpers import PIXEL, check_against_oracle, eog_globe, make_config, stats_of
from pyproj import Geod
from sezlights_standin import eog_tiles
from shapely.geometry import Point, Polygon, box

from sezlights import areas, sources
from sezlights.errors import ConfigError, ZonesError
from sezlights.zones import load_zones

GEOD = Geod(ellps="WGS84")
RINGS = [0, 5, 10, 20]
MONTH = "2019-02"
STAMP = "201903051200"


def zones_of(geoms: dict, shape="polygon") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"zone_id": list(geoms), "shape": shape}, geometry=list(geoms.values()), crs="EPSG:4326"
    )


def unwrap(lon, centre):
    return centre + (np.asarray(lon) - centre + 180.0) % 360.0 - 180.0


def outline_points(geom, centre_lon):
    """The zone's outline cut every ~20 m, longitudes continuous around the zone (a zone
    cut at the antimeridian is one outline again; its cut edges along 180 are left out)."""
    lines = shapely.segmentize(shapely.get_rings(shapely.get_parts(geom)), 0.0002)
    xy = shapely.get_coordinates(lines)
    on_cut = np.isclose(np.abs(xy[:, 0]), 180.0)
    xy = xy[~on_cut] if on_cut.any() and (~on_cut).sum() > 10 else xy
    return unwrap(xy[:, 0], centre_lon), xy[:, 1]


def distances_km(geom, lon, lat, centre_lon, candidates=24):
    """Each point's distance on the ellipsoid to the zone (0 inside it), km: the least
    geodesic distance to the outline's vertices, among the ``candidates`` nearest by a
    local flat-earth measure (the nearest on the ellipsoid is always among them)."""
    olon, olat = outline_points(geom, centre_lon)
    k = np.cos(np.radians(lat))[:, None]
    flat = ((lon[:, None] - olon[None, :]) * k) ** 2 + (lat[:, None] - olat[None, :]) ** 2
    near = np.argsort(flat, axis=1)[:, :candidates]
    _, _, d = GEOD.inv(
        np.repeat(lon, near.shape[1]), np.repeat(lat, near.shape[1]),
        olon[near].ravel(), olat[near].ravel(),
    )  # fmt: skip
    out = d.reshape(near.shape).min(axis=1) / 1000.0
    inside = shapely.contains_xy(geom, unwrap(lon, 0.0), lat)
    out[inside] = 0.0
    return out


def sample(geom, reach_km, n=48, seed=0):
    """Points on a jittered grid over the zone and ``reach_km`` around it (longitudes
    continuous around the zone's centre; lat/lon boxes wide enough at its latitude)."""
    rng = np.random.default_rng(seed)
    parts = shapely.get_parts(geom)
    c = max(parts, key=lambda p: p.area).centroid
    xs = np.concatenate([unwrap(shapely.get_coordinates(p)[:, 0], c.x) for p in parts])
    ys = shapely.get_coordinates(geom)[:, 1]
    dlat = reach_km / 110.0 * 1.15
    dlon = dlat / max(0.2, np.cos(np.radians(abs(c.y) + dlat)))
    gx, gy = np.meshgrid(
        np.linspace(xs.min() - dlon, xs.max() + dlon, n),
        np.linspace(ys.min() - dlat, ys.max() + dlat, n),
    )
    jitter = rng.uniform(-0.5, 0.5, (2, *gx.shape))
    gx = gx + jitter[0] * (gx[0, 1] - gx[0, 0])
    gy = gy + jitter[1] * (gy[1, 0] - gy[0, 0])
    return gx.ravel(), gy.ravel(), c.x


def tolerance_km(outer_km):
    return 4e-4 * outer_km + 0.03


def check_rings_on_ellipsoid(zone, built, others=()):
    """Every ring of ``zone`` in ``built`` against distances measured with pyproj.Geod."""
    geom = built.set_index("zone_id").geometry[zone]
    rings = built[built.parent_id == zone].iloc[1:]
    lon, lat, centre = sample(geom, max(RINGS) + 3)
    d = distances_km(geom, lon, lat, centre)
    wrapped = unwrap(lon, 0.0)
    in_other = np.zeros(lon.size, bool)
    for other in others:
        in_other |= shapely.contains_xy(other, wrapped, lat)
    checked = 0
    for ring in rings.itertuples():
        a, b = ring.ring_inner_km, ring.ring_outer_km
        tol = tolerance_km(b)
        inside = shapely.contains_xy(ring.geometry, wrapped, lat)
        assert inside.sum() > 5, (ring.zone_id, "too few sample points in the ring")
        assert (d[inside] >= a - tol).all(), (ring.zone_id, d[inside].min())
        assert (d[inside] <= b + tol).all(), (ring.zone_id, d[inside].max())
        # outside it, none lies clearly between the two distances (but in another zone)
        between = (d > a + tol) & (d < b - tol)
        assert not (between & ~inside & ~in_other).any(), (
            ring.zone_id,
            np.column_stack([wrapped, lat, d])[between & ~inside & ~in_other][:5],
        )
        assert not (inside & in_other).any(), ring.zone_id
        checked += inside.sum()
    return checked


# ---------------------------------------------------------------- geometry


@pytest.mark.parametrize(
    "name, geom",
    [
        ("kenya-sez", shapely.affinity.rotate(box(36.96, -1.45, 37.0, -1.41), 20)),
        # concave, at 60N: a degree of longitude is half a degree of latitude there
        (
            "north-concave",
            Polygon([(24.9, 60.2), (25.1, 60.2), (25.1, 60.3), (25.0, 60.25), (24.9, 60.3)]),
        ),  # fmt: skip
        ("sub-pixel", box(38.4695, 7.0495, 38.4725, 7.0525)),
    ],
)
def test_ring_points_lie_between_their_two_distances_on_the_ellipsoid(name, geom):
    built = areas.build(zones_of({name: geom}), RINGS)
    assert list(built.zone_id) == [name] + [
        f"{name}__ring_0_5km", f"{name}__ring_5_10km", f"{name}__ring_10_20km"
    ]  # fmt: skip
    assert list(built.zone_kind) == ["zone", "ring", "ring", "ring"]
    assert list(built.parent_id) == [name] * 4
    assert check_rings_on_ellipsoid(name, built) > 300
    # consecutive rings meet without gap or overlap, and hold no part of the zone
    zone, r1, r2, r3 = built.geometry
    assert shapely.intersection(r1, zone).area < 1e-12
    assert shapely.intersection(r1, r2).area < 1e-12
    whole = shapely.union_all([zone, r1, r2, r3])
    outer = areas.buffers(geom, [20])[20]
    assert abs(whole.area - outer.area) < 1e-9 * outer.area + 1e-12
    # the areas are geodesic areas, and add up to the 20 km buffer's
    total = abs(GEOD.geometry_area_perimeter(outer)[0]) / 1e6
    assert built.area_km2.sum() == pytest.approx(total, rel=1e-6)


def test_two_zones_a_few_km_apart_leave_each_other_out_of_their_rings():
    a = box(36.90, -1.45, 36.95, -1.40)
    b = box(36.98, -1.45, 37.02, -1.40)  # 3.3 km east of a
    gap = GEOD.inv(36.95, -1.425, 36.98, -1.425)[2] / 1000
    assert 3 < gap < 4
    built = areas.build(zones_of({"A": a, "B": b}), RINGS)
    g = built.set_index("zone_id").geometry
    for zone, other in (("A", b), ("B", a)):
        for ring in ("0_5", "5_10", "10_20"):
            assert shapely.intersection(g[f"{zone}__ring_{ring}km"], other).area < 1e-12
        check_rings_on_ellipsoid(zone, built, others=[other])
    # without the exclusion, A's nearest ring holds B's western part
    kept = areas.build(zones_of({"A": a, "B": b}), RINGS, exclude_zones=False)
    k = kept.set_index("zone_id")
    assert shapely.intersection(k.geometry["A__ring_0_5km"], b).area > 0
    assert k.area_km2["A__ring_0_5km"] > built.set_index("zone_id").area_km2["A__ring_0_5km"]


def test_a_ring_across_the_antimeridian_is_cut_into_its_two_sides():
    # Taveuni, Fiji: 179.9E; its rings reach past 180
    geom = box(179.85, -16.85, 179.95, -16.75)
    built = areas.build(zones_of({"FJ": geom}), RINGS)
    for ring in built.geometry.iloc[1:]:
        minx, _, maxx, _ = ring.bounds
        assert -180 <= minx and maxx <= 180
    outer = built.geometry.iloc[3]
    assert outer.bounds[0] == pytest.approx(-180) and outer.bounds[2] == pytest.approx(180)
    assert check_rings_on_ellipsoid("FJ", built) > 300
    # a zone itself cut at the antimeridian has rings on both sides too
    cut = load_zones_frame({"X": box(179.95, -17.0, 180.05, -16.9)})
    built = areas.build(cut, [0, 5])
    ring = built.geometry.iloc[1]
    assert len(shapely.get_parts(ring)) == 2
    assert check_rings_on_ellipsoid("X", built) > 100


def load_zones_frame(geoms: dict):
    """Zones as load_zones gives them (cut at the antimeridian)."""
    from sezlights.zones import split_antimeridian

    return zones_of({k: split_antimeridian(v) for k, v in geoms.items()})


def test_a_ring_id_that_is_a_zone_id_is_an_error_naming_both():
    z = zones_of({"A": box(0, 0, 0.1, 0.1), "A__ring_0_5km": box(1, 1, 1.1, 1.1)})
    with pytest.raises(ZonesError) as e:
        areas.build(z, [0, 5])
    text = str(e.value)
    assert "'A__ring_0_5km'" in text and "zone 'A'" in text and "zones.rings_km" in text
    assert areas.ring_id("Z", 2.5, 10.0) == "Z__ring_2.5_10km"


@pytest.mark.parametrize("bad", [[5], [0, 5, 5], [10, 5], [0, -1]])
def test_rings_must_grow(bad):
    with pytest.raises(ConfigError, match="zones.rings_km"):
        areas.check_rings(bad)
    assert areas.check_rings([]) == []


# ---------------------------------------------------------------- points


def test_a_point_file_becomes_geodesic_discs(tmp_path):
    pts = pd.DataFrame(
        {
            "sez": ["007", "NA", "edge"],
            "lon": [36.98, -92.4, 179.99],
            "lat": [-1.43, 14.7, -16.8],
            "country": ["Kenya", "Mexico", "Fiji"],
        }
    )
    path = tmp_path / "points.csv"
    pts.to_csv(path, index=False)
    z = load_zones(path, "sez", lon_field="lon", lat_field="lat", point_radius_km=3)
    assert list(z.zone_id) == ["007", "NA", "edge"]  # ids as written
    assert list(z["shape"]) == ["disc"] * 3
    for (lon, lat), geom in zip(pts[["lon", "lat"]].to_numpy(), z.geometry, strict=True):
        gx, gy, centre = sample(geom, 1.0, n=40)
        d = GEOD.inv(np.full(gx.size, lon), np.full(gx.size, lat), gx, gy)[2] / 1000
        inside = shapely.contains_xy(geom, unwrap(gx, 0), gy)
        assert inside.sum() > 200
        assert (d[inside] <= 3.0 + 1e-9).all()
        assert (d[~inside] >= 3.0 * (1 - 4e-4)).all()
        area = abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e6
        assert area == pytest.approx(np.pi * 9, rel=1e-3)
    assert len(shapely.get_parts(z.geometry[2])) == 2  # cut at the antimeridian
    # rings around discs carry the disc's shape
    built = areas.build(z, [0, 2])
    assert list(built["shape"]) == ["disc"] * 6
    assert check_rings_on_ellipsoid("NA", built) > 0


def test_a_point_layer_needs_a_radius_and_a_table_its_columns(tmp_path):
    path = tmp_path / "points.geojson"
    gpd.GeoDataFrame(
        {"id": ["a", "b"]}, geometry=[Point(36.9, -1.4), Point(32.5, 0.1)], crs="EPSG:4326"
    ).to_file(path)
    with pytest.raises(ZonesError) as e:
        load_zones(path, "id")
    assert "not polygons" in str(e.value) and "zones.point_radius_km" in str(e.value)
    z = load_zones(path, "id", point_radius_km=1.5)
    assert list(z["shape"]) == ["disc", "disc"]
    table = tmp_path / "points.csv"
    pd.DataFrame({"id": ["a"], "x": [1.0], "y": [2.0]}).to_csv(table, index=False)
    with pytest.raises(ZonesError, match="set zones.lon_field and zones.lat_field"):
        load_zones(table, "id")
    with pytest.raises(ZonesError, match="no column 'lon'"):
        load_zones(table, "id", lon_field="lon", lat_field="y", point_radius_km=1)
    pd.DataFrame({"id": ["a", "b"], "x": ["east", 200], "y": [2.0, 3.0]}).to_csv(table, index=False)
    with pytest.raises(ZonesError, match=r"a \('east', 2.0\), b \('200', 3.0\)"):
        load_zones(table, "id", lon_field="x", lat_field="y", point_radius_km=1)


# ---------------------------------------------------------------- statistics


@pytest.fixture(scope="module")
def eog_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("eog-ring-archives")
    return [
        eog_tiles.write_archive(
            d / eog_tiles.archive_name(MONTH, t, "vcmcfg", STAMP), MONTH, t, PIXEL
        )
        for t in eog_tiles.TILE_IDS
    ]


def test_ring_statistics_match_the_oracle(eog_files):
    """Rings of 10-60 km at the tests' 600" pixels (18.5 km): around a zone on EOG's
    60E tile border (its rings cross it), across the antimeridian, two zones 3 km
    apart, a disc; each ring's statistics against the oracle's for its outline."""
    zones = load_zones_frame(
        {
            "border": box(59.85, 25.26, 60.1, 25.43),  # on the 60E tile border
            "fiji": box(179.85, -16.85, 179.95, -16.75),
            "A": box(36.90, -1.45, 36.95, -1.40),
            "B": box(36.98, -1.45, 37.02, -1.40),
        }
    )
    zones = pd.concat(
        [zones, zones_of({"disc": areas.disc(32.5, 0.1, 12.0)}, shape="disc")], ignore_index=True
    )
    built = areas.build(gpd.GeoDataFrame(zones, crs="EPSG:4326"), [0, 10, 30, 60])
    assert len(built) == 5 * 4
    src = sources.get("eog", make_config(sources=["eog"]))
    table = stats_of(built, eog_files, src, MONTH)
    ring = table[table.zone_kind == "ring"]
    assert len(ring) == 15 and (ring.parent_id.isin(zones.zone_id)).all()
    assert ring.set_index("zone_id").loc["border__ring_0_10km", "ring_outer_km"] == 10
    assert (table.set_index("zone_id").loc["disc__ring_0_10km", "shape"]) == "disc"
    # the border ring's pixels lie on both tiles
    from sezlights import index

    idx = index.build_index(built, src.tiles)
    n = list(built.zone_id).index("border__ring_10_30km")
    assert len(set(idx["tile"][idx["zone"] == n].tolist())) == 2
    check_against_oracle(table, built, {MONTH: eog_globe(MONTH)})
