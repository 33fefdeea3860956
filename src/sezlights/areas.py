"""The areas the statistics are computed for, and the zone table that describes them.

Every area is a row of the zone table (``results/zones/areas.csv``), in the order of the
prepared zones (``resources/zones.gpkg``), which is also the order of the pixel index's
zone numbers. The table is the one home of the zones' facts: the index holds pixels only,
and every statistics row gets its zone's columns from here (:data:`ZONE_COLUMNS`).

- A **zone** of the zones file (``zone_kind: zone``, ``parent_id``: its own id): its
  outline (``shape: polygon``), or, for a point given with ``zones.point_radius_km``,
  the geodesic disc of that radius around it (``shape: disc``, :func:`disc`).
- With ``zones.rings_km`` (e.g. ``[0, 5, 10, 20]``), around each zone the **rings**
  between consecutive distances from its outline (0-5, 5-10 and 10-20 km):
  ``zone_kind: ring``, id ``{zone_id}__ring_{a}_{b}km`` (:func:`ring_id`), ``parent_id``
  the zone's id, ``ring_inner_km`` and ``ring_outer_km`` the two distances, ``shape``
  the zone's.

Rings are true distances on the ground (:func:`buffers`): the zone is projected to an
azimuthal equidistant projection centred on it (WGS84 ellipsoid), buffered there, and
brought back to longitude/latitude with its edges cut to at most
:data:`SEGMENT_M` metres. A ring never holds its own zone (the 0 km buffer is the
zone's outline itself, exactly as the index sees it), and with
``zones.rings_exclude_zones`` (the default) no other zone's area either: two SEZs a few
kilometres apart do not count each other's lights as surroundings. A zone or ring
across the antimeridian is cut into parts on either side (as every zone is,
:func:`sezlights.zones.split_antimeridian`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod, Proj

from .errors import ConfigError, ZonesError
from .table import ZONE_COLUMNS, zone_facts
from .zones import _ids, _polygonal_part, split_antimeridian

log = logging.getLogger(__name__)
_GEOD = Geod(ellps="WGS84")

KINDS = ("zone", "ring")
SHAPES = ("polygon", "disc")
# a disc is a polygon of this many vertices on its circle: its edges fall short of the
# radius by at most 1 - cos(pi / 128) = 3e-4 of it (6 m at 20 km)
DISC_VERTICES = 128
# a buffer's arcs: 32 segments a quarter circle, the same 3e-4 of the distance
QUAD_SEGS = 32
# the longest straight edge, in metres, of a buffer brought back to longitude/latitude
SEGMENT_M = 1000.0


def area_km2(geom) -> float:
    """The geodesic area on the WGS84 ellipsoid (km²): pyproj's ``polygon_area_perimeter``
    on each ring's coordinates, as ``Geod.geometry_area_perimeter`` computes it, without
    its slow copy of every coordinate into Python lists (3x faster on rings)."""
    total = 0.0
    for poly in shapely.get_parts(geom):
        if poly.is_empty:
            continue
        for k, ring in enumerate([poly.exterior, *poly.interiors]):
            xy = shapely.get_coordinates(ring)
            a = abs(_GEOD.polygon_area_perimeter(xy[:, 0], xy[:, 1])[0])
            total += a if k == 0 else -a
    return total / 1e6


def km_text(value: float) -> str:
    """A distance as a ring id writes it: 5.0 -> "5", 2.5 -> "2.5"."""
    return format(float(value), ".15g")


def ring_id(zone_id: str, inner_km: float, outer_km: float) -> str:
    return f"{zone_id}__ring_{km_text(inner_km)}_{km_text(outer_km)}km"


def check_rings(rings_km: Sequence[float] | None) -> list[float]:
    """``zones.rings_km`` as floats: none, or at least two distances (km, >= 0), each
    larger than the one before. Anything else is a :class:`ConfigError` saying what to
    write."""
    values = [float(v) for v in (rings_km or [])]
    if not values:
        return []
    if len(values) < 2 or any(b <= a for a, b in zip(values, values[1:], strict=False)):
        raise ConfigError(
            f"zones.rings_km {list(rings_km)} must list at least two distances in km, each "
            "larger than the one before, e.g. [0, 5, 10, 20] for the rings 0-5, 5-10 and "
            "10-20 km around each zone."
        )
    if values[0] < 0:
        raise ConfigError(f"zones.rings_km {list(rings_km)}: distances start at 0 or more.")
    return values


def ring_bounds(rings_km: Sequence[float]) -> list[tuple[float, float]]:
    """The (inner, outer) distances of each ring."""
    values = check_rings(rings_km)
    return list(zip(values, values[1:], strict=False))


# --------------------------------------------------------------------------- discs


def _wrap_near(lon: np.ndarray, centre: float) -> np.ndarray:
    """Longitudes written within 180 degrees of ``centre`` (beyond +/-180 if need be)."""
    return centre + (np.asarray(lon, dtype=np.float64) - centre + 180.0) % 360.0 - 180.0


def disc(lon: float, lat: float, radius_km: float, vertices: int = DISC_VERTICES):
    """The geodesic disc of ``radius_km`` around a point: its circle's points on the
    WGS84 ellipsoid (pyproj ``Geod.fwd``, one every 360/``vertices`` degrees of
    azimuth), cut at the antimeridian if it crosses it. A disc holding a pole is refused
    (ValueError)."""
    for pole in (90.0, -90.0):
        if _GEOD.inv(lon, lat, lon, pole)[2] <= radius_km * 1000.0:
            raise ValueError(f"a disc of {radius_km:g} km around ({lon:g}, {lat:g}) holds a pole")
    az = np.linspace(0.0, 360.0, vertices, endpoint=False)
    n = az.size
    lons, lats, _ = _GEOD.fwd(
        np.full(n, float(lon)), np.full(n, float(lat)), az, np.full(n, radius_km * 1000.0)
    )
    ring = np.column_stack([_wrap_near(lons, lon), lats])
    return split_antimeridian(shapely.Polygon(ring[::-1]))  # counter-clockwise


def discs(points, radius_km: float):
    """A disc around each point of a Point or MultiPoint (their union)."""
    parts = [disc(p.x, p.y, radius_km) for p in shapely.get_parts(points)]
    return parts[0] if len(parts) == 1 else _polygonal_part(shapely.union_all(parts))


# --------------------------------------------------------------------------- buffers


def _continuous(geom):
    """A zone cut at the antimeridian with its western parts moved 360 degrees east, so
    that its longitudes run on without a jump (a projection centred on it then sees one
    piece)."""
    minx, _, maxx, _ = geom.bounds
    if maxx - minx <= 180.0:
        return geom
    parts = [
        shapely.transform(p, lambda xy: xy + (360.0, 0.0)) if p.bounds[2] <= 0 else p
        for p in shapely.get_parts(geom)
    ]
    return _polygonal_part(shapely.make_valid(shapely.union_all(parts)))


def local_projection(geom) -> tuple[Proj, float]:
    """The azimuthal equidistant projection (WGS84, metres) centred on the zone, and
    the longitude of its centre."""
    c = _continuous(geom).centroid
    return Proj(proj="aeqd", lat_0=c.y, lon_0=c.x, ellps="WGS84", units="m"), c.x


def buffers(geom, distances_km: Sequence[float]) -> dict[float, object]:
    """{d: the area within d km of the zone on the ground}, in longitude/latitude; for
    d = 0 the zone itself, exactly.

    Buffered in the zone's own azimuthal equidistant projection (:func:`local_projection`),
    whose distances from its centre are true and whose others are off by about
    (r/R)^2/6 at r from the centre (R the earth's radius: 4e-6 at 30 km, 1 m in 20 km
    at 70 km), arcs of :data:`QUAD_SEGS` segments a quarter circle, edges cut to
    :data:`SEGMENT_M` metres before they go back to longitude/latitude."""
    out = {}
    wanted = [float(d) for d in distances_km]
    if any(d > 0 for d in wanted):
        proj, lon0 = local_projection(geom)
        flat = _continuous(geom)
        local = shapely.transform(flat, lambda xy: np.column_stack(proj(xy[:, 0], xy[:, 1])))

        def back(xy):
            lon, lat = proj(xy[:, 0], xy[:, 1], inverse=True)
            return np.column_stack([_wrap_near(lon, lon0), lat])

    for d in wanted:
        if d == 0:
            out[d] = geom
            continue
        grown = shapely.segmentize(local.buffer(d * 1000.0, quad_segs=QUAD_SEGS), SEGMENT_M)
        ll = shapely.transform(grown, back)
        out[d] = _polygonal_part(shapely.make_valid(split_antimeridian(ll)))
    return out


def rings(
    zones: gpd.GeoDataFrame, rings_km: Sequence[float], exclude_zones: bool = True
) -> gpd.GeoDataFrame:
    """The rings around each zone of ``zones`` (``zone_id``, ``shape``, geometry in
    EPSG:4326), zone by zone in the order of ``rings_km``: columns
    :data:`ZONE_COLUMNS` but ``area_km2``, and geometry.

    A ring is the zone's outer buffer less its inner one (:func:`buffers`), less every
    zone's area when ``exclude_zones``. A ring left with no area (wholly inside other
    zones) is kept, empty, so that every zone has the same rings (logged)."""
    pairs = ring_bounds(rings_km)
    columns = [*ZONE_COLUMNS[:-1], "geometry"]
    if not pairs:
        return gpd.GeoDataFrame(columns=columns, geometry="geometry", crs="EPSG:4326")
    distances = sorted({d for pair in pairs for d in pair})
    geoms = list(zones.geometry)
    tree = shapely.STRtree(geoms) if exclude_zones else None
    rows = []
    for i, (zid, shape, geom) in enumerate(
        zip(zones["zone_id"], zones["shape"], geoms, strict=True)
    ):
        around = buffers(geom, distances)
        others = None
        if tree is not None:  # the zone itself is inside every ring's inner edge already
            near = [j for j in tree.query(around[distances[-1]], predicate="intersects") if j != i]
            others = shapely.union_all([geoms[j] for j in near]) if near else None
        for inner, outer in pairs:
            ring = shapely.difference(around[outer], around[inner])
            if others is not None:
                ring = shapely.difference(ring, others)
            rows.append(
                {
                    "zone_id": ring_id(zid, inner, outer),
                    "zone_kind": "ring",
                    "parent_id": zid,
                    "ring_inner_km": inner,
                    "ring_outer_km": outer,
                    "shape": shape,
                    "geometry": _polygonal_part(ring),
                }
            )
    out = gpd.GeoDataFrame(rows, columns=columns, geometry="geometry", crs="EPSG:4326")
    empty = out.geometry.is_empty
    if empty.any():
        log.warning(
            "%d ring(s) lie wholly inside other zones and have no area: %s",
            int(empty.sum()),
            _ids(out.zone_id[empty]),
        )
    return out


def check_ring_ids(zone_ids: Sequence[str], rings_km: Sequence[float], path="") -> None:
    """A zone of the file whose id is one of the rings' is a :class:`ZonesError` naming
    both."""
    known = {str(z) for z in zone_ids}
    clashes = [
        (ring_id(z, a, b), z, a, b)
        for z in zone_ids
        for a, b in ring_bounds(rings_km)
        if ring_id(z, a, b) in known
    ]
    if clashes:
        rid, zid, a, b = clashes[0]
        more = f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""
        raise ZonesError(
            f"zones file {path}: the zone {rid!r} has the id of the {km_text(a)}-{km_text(b)} "
            f"km ring around zone {zid!r}{more}; rename that zone (ids ending in "
            "__ring_{a}_{b}km name the rings of zones.rings_km) or change zones.rings_km."
        )


# --------------------------------------------------------------------------- the zone table


def build(
    zones: gpd.GeoDataFrame, rings_km: Sequence[float] = (), exclude_zones: bool = True
) -> gpd.GeoDataFrame:
    """Every area of the run: the zones (``zone_id``, geometry and, if given, ``shape``)
    in their order, then their rings (:func:`rings`), with :data:`ZONE_COLUMNS` (the
    geodesic area on the WGS84 ellipsoid, km², in ``area_km2``) and geometry."""
    z = zones.copy()
    if "shape" not in z:
        z["shape"] = "polygon"
    z["zone_id"] = z["zone_id"].astype(str)
    check_ring_ids(list(z["zone_id"]), rings_km)
    base = gpd.GeoDataFrame(
        {
            "zone_id": z["zone_id"].to_numpy(),
            "zone_kind": "zone",
            "parent_id": z["zone_id"].to_numpy(),
            "ring_inner_km": np.nan,
            "ring_outer_km": np.nan,
            "shape": z["shape"].to_numpy(),
        },
        geometry=list(z.geometry),
        crs="EPSG:4326",
    )
    out = pd.concat([base, rings(z, rings_km, exclude_zones)], ignore_index=True)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")
    out["area_km2"] = [area_km2(g) for g in out.geometry]
    return out[[*ZONE_COLUMNS, "geometry"]]


def zone_table(areas: pd.DataFrame) -> pd.DataFrame:
    """The zone table of :func:`build`'s areas (:func:`sezlights.table.zone_facts`)."""
    return zone_facts(areas)


def write_table(areas: pd.DataFrame, dest: str | Path) -> None:
    """The zone table, atomically: one row per zone number of the pixel index, in order."""
    from .table import write_csv

    if "area_km2" not in areas:
        areas = areas.assign(area_km2=[area_km2(g) for g in areas.geometry])
    t = zone_table(areas)
    t["area_km2"] = t["area_km2"].round(6)
    write_csv(t, dest)


def read_table(path: str | Path) -> pd.DataFrame:
    """The zone table as written (ids as text exactly: an id "NA" stays "NA")."""
    text = {"zone_id": str, "zone_kind": str, "parent_id": str, "shape": str}
    t = pd.read_csv(path, dtype=text, keep_default_na=False, na_values={})
    for col in ("ring_inner_km", "ring_outer_km", "area_km2"):
        if col in t:
            t[col] = pd.to_numeric(t[col].replace("", np.nan))
    return zone_table(t)
