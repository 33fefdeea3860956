"""Read, check and normalise a zones file.

Any polygon layer pyogrio reads (GeoJSON, GeoPackage, Shapefile, ...) with an id
column. Every feature is used; a file with several layers needs ``zones.layer``.
Points (a point layer, or a table such as a CSV with longitude and latitude columns)
are zones with ``zones.point_radius_km``: the geodesic disc of that radius around each
(:mod:`sezlights.areas`, which also draws the rings around zones).
Ids are kept exactly as written (never trimmed). Geometries are reprojected to
EPSG:4326; invalid ones are repaired with ``make_valid`` (the repaired ids are
logged); anything that cannot be used is one :class:`ZonesError` that names the
offending ids.

The zones' identity is their content: :func:`fingerprint` hashes every file of the
dataset (a Shapefile's ``.dbf``, ``.prj``, ... included), so the workflow notices
an edited attribute table, or an older copy put back with its old timestamp.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
import shapely.affinity
from pyproj import Geod

from .atomic import atomic_path
from .errors import ZonesError

log = logging.getLogger(__name__)
_GEOD = Geod(ellps="WGS84")

POLYGONAL = {"Polygon", "MultiPolygon"}
# what GDAL says of a GeoPackage whose name does not end in .gpkg (read or written)
TMP_NAME_WARNING = r".*(non conformant file extension|extension should be 'gpkg')"


def _id_text(value) -> str:
    """An id as text: whole numbers stored as floats (a Shapefile's numeric field) lose the .0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _ids(values, limit: int = 10) -> str:
    values = [str(v) for v in values]
    more = f" (and {len(values) - limit} more)" if len(values) > limit else ""
    return ", ".join(values[:limit]) + more


# files that belong to a Shapefile (or other multi-file format) beside the main one
SIDECARS = (".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".fix", ".shp.xml", ".qmd")


def dataset_files(path: str | Path) -> list[Path]:
    """The zones file and every sidecar that is part of its dataset, in a fixed order."""
    path = Path(path)
    files = [path]
    if path.suffix.lower() == ".shp":
        stem = path.with_suffix("")
        for ext in SIDECARS:
            for candidate in (Path(f"{stem}{ext}"), Path(f"{stem}{ext.upper()}")):
                if candidate.exists() and candidate not in files:
                    files.append(candidate)
    for extra in (Path(f"{path}-wal"),):  # a GeoPackage's write-ahead log holds content too
        if extra.exists():
            files.append(extra)
    return files


def missing_zones_message(path) -> str:
    return (
        f"zones file {path} does not exist; check zones.path in the config (relative paths "
        "are read from the folder snakemake runs in)."
    )


def fingerprint(path: str | Path) -> str:
    """SHA-256 of the dataset's content: every file of it, names included."""
    files = dataset_files(path)
    if not Path(path).exists():
        raise ZonesError(missing_zones_message(path))
    h = hashlib.sha256()
    for f in files:
        h.update(f.suffix.lower().encode() + b"\0")
        with open(f, "rb") as fh:
            for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                h.update(chunk)
        h.update(b"\0")
    return h.hexdigest()


def choose_layer(path: Path, layer: str | None) -> str | None:
    """The layer to read: ``layer``, or the only one; several and none named is an error."""
    import pyogrio

    try:
        with _tmp_name_quiet():
            tables = pyogrio.list_layers(path)
    except Exception:  # not a vector dataset at all: read_file says so below
        return layer
    # tables without geometry (QGIS's `layer_styles` in a GeoPackage, attribute tables)
    # hold no zones
    layers = [str(name) for name, kind in tables if kind is not None]
    if layer is not None:
        if layer not in layers:
            raise ZonesError(
                f"zones file {path} has no layer {layer!r} (zones.layer); its layers are: "
                f"{', '.join(layers)}."
            )
        return layer
    if len(layers) > 1:
        raise ZonesError(
            f"zones file {path} holds {len(layers)} layers ({', '.join(layers)}); set "
            "zones.layer in the config to the one with the zones."
        )
    # the one layer with geometry, named if other tables beside it could be read instead
    return layers[0] if len(layers) == 1 and len(tables) > 1 else None


@contextlib.contextmanager
def _tmp_name_quiet():
    """Ignore only GDAL's warning that a GeoPackage read under a temporary name (".tmp")
    should be named .gpkg, which is harmless here; every other warning reaches the log."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", TMP_NAME_WARNING, RuntimeWarning)
        yield


def load_zones(
    path: str | Path,
    id_field: str,
    layer: str | None = None,
    *,
    lon_field: str | None = None,
    lat_field: str | None = None,
    point_radius_km: float | None = None,
) -> gpd.GeoDataFrame:
    """Return a GeoDataFrame with columns ``zone_id`` (str), ``shape`` and ``geometry``
    in EPSG:4326.

    Zones are polygons (``shape: polygon``), or points with ``point_radius_km``: each
    point becomes the geodesic disc of that radius around it (``shape: disc``,
    :func:`sezlights.areas.disc`). With ``lon_field`` and ``lat_field`` the file is a
    table (a CSV, or any layer) whose points are those columns, in WGS84 degrees."""
    path = Path(path)
    if not path.exists():
        raise ZonesError(missing_zones_message(path))
    if lon_field or lat_field:
        gdf = read_points_table(path, id_field, layer, lon_field, lat_field)
    else:
        gdf = _read_layer(path, layer)
    if not isinstance(gdf, gpd.GeoDataFrame) or "geometry" not in gdf:
        raise ZonesError(f"zones file {path} has no geometry column; give a polygon layer.")
    ids = zone_ids(gdf, path, id_field)
    geom = gdf.geometry
    null = geom.isna() | geom.is_empty
    if null.any():
        raise ZonesError(
            f"zones file {path}: zone(s) {_ids(ids[null])} have an empty or missing geometry; "
            "remove them or draw their outline."
        )
    points = geom.geom_type.isin(POINTS).to_numpy()
    usable = geom.geom_type.isin(POLYGONAL).to_numpy() | (points & bool(point_radius_km))
    if not usable.all():
        bad_type = ~usable
        kinds = sorted(set(geom.geom_type[bad_type]))
        hint = ""
        if points[bad_type].any():
            hint = (
                ", or set zones.point_radius_km to the radius in km of the disc to count "
                "around each point"
            )
        raise ZonesError(
            f"zones file {path}: zone(s) {_ids(ids[bad_type])} are {'/'.join(kinds)}, "
            f"not polygons; zonal statistics need (multi)polygon outlines{hint}."
        )
    if gdf.crs is None:
        raise ZonesError(missing_crs_message(path, geom))
    out = gpd.GeoDataFrame(
        {"zone_id": ids.values, "shape": np.where(points, "disc", "polygon")},
        geometry=geom.values,
        crs=gdf.crs,
    )
    if not out.crs.equals("EPSG:4326"):
        log.info("reprojecting zones from %s to EPSG:4326", out.crs.to_string())
        out = out.to_crs("EPSG:4326")
    check_degrees(out, gdf.crs, geom, path)
    out["geometry"] = [
        split_antimeridian(g) if not point else g
        for g, point in zip(out.geometry, points, strict=True)
    ]
    if points.any():
        out.loc[points, "geometry"] = gpd.GeoSeries(
            _discs(out.geometry[points], out.zone_id[points], point_radius_km, path),
            index=out.index[points],
            crs=out.crs,
        )
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


# ---------------------------------------------------------------- ids and coordinates

# Longitudes a zone may have once in EPSG:4326: -180..180, and beyond it for a zone drawn
# across the antimeridian (179.9 .. 180.1) or on a 0..360 convention (split_antimeridian
# reads both); anything further, or a latitude beyond a pole, is not a longitude/latitude.
LON_LIMIT, LAT_LIMIT = 360.0, 90.0


def check_ids_differ_by_more_than_spaces(ids, path, id_field: str) -> None:
    """Ids are kept exactly as written, but ids equal once the spaces at either end are
    trimmed (``A1``, ``A1 ``, `` A1``) are almost always one id typed twice: they would be
    zones that look the same in every table and figure. Stop, and list them."""
    groups: dict[str, list[str]] = {}
    for value in dict.fromkeys(ids):
        groups.setdefault(value.strip(), []).append(value)
    clashes = [group for group in groups.values() if len(group) > 1]
    if not clashes:
        return
    shown = "; ".join(" and ".join(repr(v) for v in group) for group in clashes[:5])
    more = f" (and {len(clashes) - 5} more groups)" if len(clashes) > 5 else ""
    raise ZonesError(
        f"zones file {path}: {id_field!r} values that differ only by spaces at either end: "
        f"{shown}{more}; they would be separate zones that read the same in the table and the "
        "report: remove the spaces (merge the features if they are one zone), or, if they are "
        "meant to be different zones, give them ids that differ by more than spaces."
    )


def _is_degrees(bounds) -> bool:
    minx, miny, maxx, maxy = bounds
    return bool(
        np.isfinite(bounds).all()
        and -LON_LIMIT <= minx
        and maxx <= LON_LIMIT
        and -LAT_LIMIT <= miny
        and maxy <= LAT_LIMIT
    )


def _bounds_text(bounds) -> str:
    return ", ".join(f"{v:.6g}" for v in bounds)


def missing_crs_message(path, geom) -> str:
    """No CRS: suggest EPSG:4326 only when the coordinates are degrees."""
    bounds = tuple(float(v) for v in geom.total_bounds)
    if _is_degrees(bounds):
        return (
            f"zones file {path} has no coordinate reference system; its coordinates (bounds "
            f"{_bounds_text(bounds)}) look like longitude/latitude: save it with EPSG:4326 if "
            "they are (a Shapefile needs its .prj), or with the CRS they were made in."
        )
    return (
        f"zones file {path} has no coordinate reference system, and its coordinates (bounds "
        f"{_bounds_text(bounds)}) are not longitude/latitude degrees: they look projected "
        "(metres, e.g. UTM); save it with the CRS they were made in (a Shapefile needs its .prj; "
        "for UTM, EPSG:326NN north of the equator or EPSG:327NN south, NN the UTM zone), not "
        "EPSG:4326."
    )


def check_degrees(out: gpd.GeoDataFrame, crs, original, path) -> None:
    """Coordinates beyond longitude/latitude range once in EPSG:4326 do not fit the CRS the
    file declares (UTM metres declared EPSG:4326, say): every zone would be outside the
    data with no word. Stop, naming the zones."""
    bounds = out.geometry.bounds.to_numpy(dtype=float)
    bad = [i for i, b in enumerate(bounds) if not _is_degrees(tuple(b))]
    if not bad:
        return
    names = _ids(out.zone_id.iloc[bad])
    raw = tuple(float(v) for v in original.iloc[bad].total_bounds)
    declared = crs.to_string()
    if crs.is_geographic:
        what = (
            f"the file declares {declared} (longitude/latitude in degrees), but these numbers "
            "look projected (metres, e.g. UTM): save it with the CRS they were made in (for UTM, "
            "EPSG:326NN north of the equator or EPSG:327NN south, NN the UTM zone)"
        )
    else:
        what = (
            f"they do not fit the CRS the file declares ({declared}): save it with the CRS its "
            "coordinates were made in"
        )
    raise ZonesError(
        f"zones file {path}: zone(s) {names} have coordinates (bounds {_bounds_text(raw)}) "
        f"outside longitude/latitude range once in EPSG:4326; {what}."
    )


def _read_layer(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    if path.suffix.lower() == ".csv":
        raise ZonesError(
            f"zones file {path} is a table: set zones.lon_field and zones.lat_field to its "
            "longitude and latitude columns (and zones.point_radius_km), or give a polygon "
            "layer."
        )
    layer = choose_layer(path, layer)
    try:
        with _tmp_name_quiet():
            gdf = gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)
    except ZonesError:
        raise
    except Exception as exc:  # pyogrio raises several types for unreadable input
        raise ZonesError(
            f"zones file {path} could not be read as a vector layer ({exc}); "
            "give a GeoJSON, GeoPackage or Shapefile of polygons."
        ) from None
    return gdf


def zone_ids(table, path, id_field: str):
    """The zones' ids as text, checked: every feature has one, and no two are the same."""
    if len(table) == 0:
        raise ZonesError(
            f"zones file {path} holds no features; give a file with at least one zone."
        )
    if id_field not in table.columns:
        cols = [c for c in table.columns if c != "geometry"]
        raise ZonesError(
            f"zones file {path} has no column {id_field!r} (zones.id_field); "
            f"its columns are: {', '.join(map(str, cols)) or '(none)'}."
        )
    ids = table[id_field]
    missing = ids.isna() | (ids.astype(str).str.strip() == "")
    if missing.any():
        rows = [str(i) for i in table.index[missing]]
        raise ZonesError(
            f"zones file {path}: {missing.sum()} feature(s) have no {id_field!r} "
            f"(rows {_ids(rows)}); give every zone an id."
        )
    ids = ids.map(_id_text)
    padded = ids[ids != ids.str.strip()]
    if len(padded):
        log.warning(
            "zone ids with spaces at either end are kept exactly as written: %s",
            _ids(repr(i) for i in padded),
        )
    dup = ids[ids.duplicated(keep=False)].unique()
    if len(dup):
        raise ZonesError(
            f"zones file {path}: duplicate {id_field!r} values {_ids(sorted(dup))}; "
            "ids must be unique."
        )
    check_ids_differ_by_more_than_spaces(ids, path, id_field)
    return ids


# ------------------------------------------------------------------ points and tables

POINTS = {"Point", "MultiPoint"}


def read_attribute_table(
    path: str | Path, id_field: str, layer: str | None = None, table: bool = False
):
    """The zones file's attribute table (a DataFrame, geometry left out), with its ids
    checked in ``zone_id`` (text, as :func:`load_zones` gives them). ``table``: the file
    is a table (zones.lon_field and zones.lat_field set); a CSV is read with pandas, the
    id column as text exactly as written, the others typed."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise ZonesError(missing_zones_message(path))
    try:
        if path.suffix.lower() == ".csv":
            text = pd.read_csv(path, dtype=str, keep_default_na=False)
            df = pd.read_csv(path)
            if id_field in text:
                df[id_field] = text[id_field].where(text[id_field] != "", None)
        else:
            import pyogrio

            layer = choose_layer(path, layer)
            with _tmp_name_quiet():
                df = pyogrio.read_dataframe(path, layer=layer, read_geometry=False)
    except ZonesError:
        raise
    except Exception as exc:
        kind = "a table" if table else "a vector layer"
        raise ZonesError(f"zones file {path} could not be read as {kind} ({exc}).") from None
    df = pd.DataFrame(df).drop(columns=["geometry"], errors="ignore")
    ids = zone_ids(df, path, id_field).to_numpy()
    df = df.drop(columns=["zone_id"], errors="ignore")  # the table's own, not a kept field
    df.insert(0, "zone_id", ids)
    return df


def read_points_table(
    path: Path, id_field: str, layer: str | None, lon_field: str | None, lat_field: str | None
) -> gpd.GeoDataFrame:
    """Points from a table's longitude and latitude columns (WGS84 degrees)."""
    import pandas as pd

    if not (lon_field and lat_field):
        raise ZonesError(
            "zones.lon_field and zones.lat_field go together: set both (the longitude and "
            "latitude columns of the zones table), or neither for a layer with geometry."
        )
    df = read_attribute_table(path, id_field, layer, table=True)
    absent = [f for f in (lon_field, lat_field) if f not in df.columns]
    if absent:
        cols = [c for c in df.columns if c != "zone_id"]
        raise ZonesError(
            f"zones file {path} has no column {', '.join(map(repr, absent))} "
            f"(zones.lon_field, zones.lat_field); its columns are: {', '.join(map(str, cols))}."
        )
    lon = pd.to_numeric(df[lon_field], errors="coerce")
    lat = pd.to_numeric(df[lat_field], errors="coerce")
    bad = ~(lon.between(-180, 180) & lat.between(-90, 90))
    if bad.any():
        shown = [
            f"{z} ({_value(df[lon_field].iat[i])}, {_value(df[lat_field].iat[i])})"
            for i, z in zip(np.flatnonzero(bad), df.zone_id[bad], strict=True)
        ]
        raise ZonesError(
            f"zones file {path}: zone(s) {_ids(shown)} have no longitude in -180..180 and "
            f"latitude in -90..90 in {lon_field!r}, {lat_field!r}; give decimal degrees "
            "(WGS84)."
        )
    out = df.drop(columns="zone_id")
    return gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def _value(v) -> str:
    return repr(v) if isinstance(v, str) else str(v)


def _discs(points, ids, radius_km: float, path) -> list:
    from .areas import discs

    out, refused = [], []
    for zid, g in zip(ids, points, strict=True):
        try:
            out.append(discs(g, float(radius_km)))
        except ValueError:
            refused.append(zid)
    if refused:
        raise ZonesError(
            f"zones file {path}: the discs of {float(radius_km):g} km around zone(s) "
            f"{_ids(refused)} hold a pole; give a smaller zones.point_radius_km."
        )
    return out


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
    """The prepared areas (zones, then their rings): ids as text, a ring with no area
    left an empty polygon (a GeoPackage stores it as no geometry)."""
    gdf = gpd.read_file(path, layer="zones")
    for col in ("zone_id", "parent_id"):
        if col in gdf:
            gdf[col] = gdf[col].astype(str)
    missing = gdf.geometry.isna()
    if missing.any():
        gdf.loc[missing, "geometry"] = gpd.GeoSeries(
            [shapely.Polygon()] * int(missing.sum()), index=gdf.index[missing], crs=gdf.crs
        )
    return gdf


def geodesic_area_km2(geom) -> float:
    """A zone's area on the WGS84 ellipsoid."""
    return abs(_GEOD.geometry_area_perimeter(geom)[0]) / 1e6


def write_areas(gdf: gpd.GeoDataFrame, dest: str | Path) -> None:
    """The zone table of the prepared areas (:mod:`sezlights.areas`, its one home)."""
    from .areas import write_table

    write_table(gdf, dest)


def read_areas(path: str | Path):
    from .areas import read_table

    return read_table(path)
