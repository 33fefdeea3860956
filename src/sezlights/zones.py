"""Read, check and normalise a zones file.

Any polygon layer pyogrio reads (GeoJSON, GeoPackage, Shapefile, ...) with an id
column. Every feature is used. Geometries are reprojected to EPSG:4326; invalid
ones are repaired with ``make_valid`` (the repaired ids are logged); anything that
cannot be used is one :class:`ZonesError` that names the offending ids.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
import shapely.affinity

from .atomic import atomic_path
from .errors import ZonesError

log = logging.getLogger(__name__)

POLYGONAL = {"Polygon", "MultiPolygon"}


def _ids(values, limit: int = 10) -> str:
    values = [str(v) for v in values]
    more = f" (and {len(values) - limit} more)" if len(values) > limit else ""
    return ", ".join(values[:limit]) + more


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_zones(path: str | Path, id_field: str) -> gpd.GeoDataFrame:
    """Return a GeoDataFrame with columns ``zone_id`` (str) and ``geometry`` in EPSG:4326."""
    path = Path(path)
    hint = "zones.path in the config"
    if not path.exists():
        raise ZonesError(f"zones file {path} does not exist; check {hint}.")
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for unreadable input
        raise ZonesError(
            f"zones file {path} could not be read as a vector layer ({exc}); "
            "give a GeoJSON, GeoPackage or Shapefile of polygons."
        ) from None
    if not isinstance(gdf, gpd.GeoDataFrame) or "geometry" not in gdf:
        raise ZonesError(f"zones file {path} has no geometry column; give a polygon layer.")
    if len(gdf) == 0:
        raise ZonesError(
            f"zones file {path} holds no features; give a file with at least one zone."
        )
    if id_field not in gdf.columns:
        cols = [c for c in gdf.columns if c != "geometry"]
        raise ZonesError(
            f"zones file {path} has no column {id_field!r} (zones.id_field); "
            f"its columns are: {', '.join(cols) or '(none)'}."
        )
    ids = gdf[id_field]
    missing = ids.isna() | (ids.astype(str).str.strip() == "")
    if missing.any():
        rows = [str(i) for i in gdf.index[missing]]
        raise ZonesError(
            f"zones file {path}: {missing.sum()} feature(s) have no {id_field!r} "
            f"(rows {_ids(rows)}); give every zone an id."
        )
    ids = ids.astype(str).str.strip()
    dup = ids[ids.duplicated(keep=False)].unique()
    if len(dup):
        raise ZonesError(
            f"zones file {path}: duplicate {id_field!r} values {_ids(sorted(dup))}; "
            "ids must be unique."
        )
    geom = gdf.geometry
    null = geom.isna() | geom.is_empty
    if null.any():
        raise ZonesError(
            f"zones file {path}: zone(s) {_ids(ids[null])} have an empty or missing geometry; "
            "remove them or draw their outline."
        )
    bad_type = ~geom.geom_type.isin(POLYGONAL)
    if bad_type.any():
        kinds = sorted(set(geom.geom_type[bad_type]))
        raise ZonesError(
            f"zones file {path}: zone(s) {_ids(ids[bad_type])} are {'/'.join(kinds)}, "
            "not polygons; zonal statistics need (multi)polygon outlines."
        )
    if gdf.crs is None:
        raise ZonesError(
            f"zones file {path} has no coordinate reference system; "
            "save it with one (e.g. EPSG:4326)."
        )
    out = gpd.GeoDataFrame({"zone_id": ids.values}, geometry=geom.values, crs=gdf.crs)
    if not out.crs.equals("EPSG:4326"):
        log.info("reprojecting zones from %s to EPSG:4326", out.crs.to_string())
        out = out.to_crs("EPSG:4326")
    out["geometry"] = [split_antimeridian(g) for g in out.geometry]
    invalid = ~out.geometry.is_valid
    if invalid.any():
        log.warning(
            "repairing %d invalid geometries: %s", invalid.sum(), _ids(out.zone_id[invalid])
        )
        repaired = shapely.make_valid(out.geometry[invalid].values)
        # make_valid may return a GeometryCollection; keep only its polygonal parts
        repaired = [_polygonal_part(g) for g in repaired]
        out.loc[invalid, "geometry"] = gpd.GeoSeries(
            repaired, index=out.index[invalid], crs=out.crs
        )
        lost = out.geometry.is_empty | out.geometry.isna()
        if lost.any():
            raise ZonesError(
                f"zones file {path}: zone(s) {_ids(out.zone_id[lost])} are invalid and have "
                "no area once repaired; fix their outlines."
            )
    return out.reset_index(drop=True)


def split_antimeridian(geom):
    """Cut a zone that crosses 180 degrees into parts on either side of it.

    Two ways of writing such a zone are understood: longitudes beyond +/-180
    (179.9 .. 180.1), and longitudes that jump from about +180 to about -180
    (179.9 .. -179.9, which taken literally would span the whole globe: read as
    crossing the antimeridian when the zone is wider than 180 degrees). The result
    is a MultiPolygon whose parts lie within -180..180.
    """
    minx, _, maxx, _ = geom.bounds
    if minx >= -180 and maxx <= 180 and maxx - minx <= 180:
        return geom
    if maxx - minx > 180 and minx >= -180 and maxx <= 180:
        # jumps across the antimeridian: move the western vertices east by 360
        geom = shapely.make_valid(shapely.transform(geom, _west_to_east))
    parts = []
    for shift in (-360, 0, 360):
        window = shapely.box(-180 - shift, -90, 180 - shift, 90)
        piece = geom.intersection(window)
        if not piece.is_empty:
            parts.append(shapely.affinity.translate(piece, xoff=shift))
    return _polygonal_part(shapely.union_all(parts)) if parts else geom


def _west_to_east(xy: np.ndarray) -> np.ndarray:
    xy = xy.copy()
    xy[:, 0] = np.where(xy[:, 0] < 0, xy[:, 0] + 360, xy[:, 0])
    return xy


def _polygonal_part(geom):
    if geom.geom_type in POLYGONAL:
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in POLYGONAL]
    if not parts:
        return shapely.Polygon()
    return shapely.union_all(parts)


def write_zones(gdf: gpd.GeoDataFrame, dest: str | Path) -> None:
    """Write the normalised zones as GeoPackage, atomically."""
    with atomic_path(dest, suffix=".gpkg") as tmp:
        tmp.unlink()
        gdf.to_file(tmp, driver="GPKG", layer="zones")


def read_prepared(path: str | Path) -> gpd.GeoDataFrame:
    gdf = gpd.read_file(path, layer="zones")
    gdf["zone_id"] = gdf["zone_id"].astype(str)
    return gdf


def needed_tiles(gdf: gpd.GeoDataFrame, pixel: float) -> list[str]:
    """The tiles some zone intersects (a zone on a border needs both sides).

    Each part of a multi-part zone counts on its own, so a zone cut at the
    antimeridian needs the tiles at both ends of the globe, not all between.
    """
    from .grid import TILE_IDS, tiles_for_bounds

    parts = gdf.geometry.explode(index_parts=False).bounds
    hit = {t for b in parts.itertuples(index=False) for t in tiles_for_bounds(b, pixel)}
    return [t for t in TILE_IDS if t in hit]
