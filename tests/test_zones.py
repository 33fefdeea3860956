import json

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, Polygon, box

from sezlights.errors import ZonesError
from sezlights.zones import load_zones


def write(tmp_path, gdf, name="zones.gpkg"):
    path = tmp_path / name
    gdf.to_file(path)
    return path


def zones(ids, geoms, crs="EPSG:4326", field="sez_id"):
    return gpd.GeoDataFrame({field: ids}, geometry=geoms, crs=crs)


def test_every_feature_is_used_and_ids_are_strings(tmp_path):
    path = write(tmp_path, zones([1, 2, 3], [box(0, 0, 1, 1), box(2, 2, 3, 3), box(4, 4, 5, 5)]))
    out = load_zones(path, "sez_id")
    assert list(out.zone_id) == ["1", "2", "3"]
    assert out.crs.to_epsg() == 4326


def test_reprojects_to_wgs84(tmp_path):
    g = zones(["a"], [box(0, 0, 1, 1)]).to_crs("EPSG:3857")
    out = load_zones(write(tmp_path, g), "sez_id")
    assert out.crs.to_epsg() == 4326
    assert out.geometry.iloc[0].bounds == pytest.approx((0, 0, 1, 1), abs=1e-9)


def test_repairs_self_intersection(tmp_path, caplog):
    bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    out = load_zones(write(tmp_path, zones(["bow", "ok"], [bowtie, box(3, 3, 4, 4)])), "sez_id")
    assert out.geometry.is_valid.all()
    assert out.geometry.iloc[0].area == pytest.approx(0.5)
    assert "bow" in caplog.text


@pytest.mark.parametrize(
    "ids, geoms, match",
    [
        (["a", "a"], [box(0, 0, 1, 1), box(1, 1, 2, 2)], "duplicate 'sez_id' values a"),
        (["a", None], [box(0, 0, 1, 1), box(1, 1, 2, 2)], "have no 'sez_id'"),
        (["a", "b"], [box(0, 0, 1, 1), Point(1, 1)], "b are Point, not polygons"),
        (["a", "b"], [LineString([(0, 0), (1, 1)]), box(0, 0, 1, 1)], "a are LineString"),
        (["a", "b"], [box(0, 0, 1, 1), Polygon()], "b have an empty or missing geometry"),
    ],
)
def test_bad_zones_name_the_ids(tmp_path, ids, geoms, match):
    path = tmp_path / "z.geojson"
    path.write_text(zones(ids, geoms).to_json())
    with pytest.raises(ZonesError, match=match):
        load_zones(path, "sez_id")


def test_missing_id_field_lists_columns(tmp_path):
    path = write(tmp_path, zones(["a"], [box(0, 0, 1, 1)], field="name"))
    with pytest.raises(ZonesError, match="no column 'sez_id'.*name"):
        load_zones(path, "sez_id")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    with pytest.raises(ZonesError, match="no features"):
        load_zones(path, "sez_id")


def test_not_geospatial(tmp_path):
    path = tmp_path / "notes.geojson"
    path.write_text("these are not zones\n")
    with pytest.raises(ZonesError, match="could not be read"):
        load_zones(path, "sez_id")


def test_missing_file(tmp_path):
    with pytest.raises(ZonesError, match="does not exist"):
        load_zones(tmp_path / "nope.gpkg", "sez_id")


def test_demo_zones_are_valid():
    from helpers import REPO

    out = load_zones(REPO / "config/zones/demo_zones.geojson", "zone_id")
    assert len(out) == 6


@pytest.mark.parametrize(
    "ring",
    [
        [(179.9, -17.0), (-179.9, -17.0), (-179.9, -16.8), (179.9, -16.8)],  # jumps at 180
        [(179.9, -17.0), (180.1, -17.0), (180.1, -16.8), (179.9, -16.8)],  # beyond 180
    ],
)
def test_antimeridian_zone_is_cut_in_two(tmp_path, ring):
    path = tmp_path / "z.geojson"
    path.write_text(zones(["fiji"], [Polygon(ring)]).to_json())
    geom = load_zones(path, "sez_id").geometry.iloc[0]
    assert geom.geom_type == "MultiPolygon" and len(geom.geoms) == 2
    assert geom.area == pytest.approx(0.2 * 0.2)
    assert -180 <= geom.bounds[0] and geom.bounds[2] <= 180


@pytest.mark.filterwarnings("ignore:.crs. was not provided")
def test_missing_crs(tmp_path):
    shp = tmp_path / "z.shp"  # a shapefile without its .prj
    gpd.GeoDataFrame({"sez_id": ["a"]}, geometry=[box(0, 0, 1, 1)]).to_file(shp)
    with pytest.raises(ZonesError, match="no coordinate reference system"):
        load_zones(shp, "sez_id")


def test_ids_are_kept_exactly_as_written(tmp_path, caplog):
    ids = ["SEZ/North", "SEZ North", "Zürich-Ω", " padded ", "NA", "007"]
    geoms = [box(i, 0, i + 1, 1) for i in range(len(ids))]
    path = tmp_path / "z.gpkg"
    zones(ids, geoms).to_file(path)
    out = load_zones(path, "sez_id")
    assert list(out.zone_id) == ids
    assert "' padded '" in caplog.text  # kept, and said so in the log


def test_several_layers_need_zones_layer(tmp_path):
    path = tmp_path / "multi.gpkg"
    zones(["a"], [box(0, 0, 1, 1)]).to_file(path, layer="sez")
    zones(["b", "c"], [box(1, 1, 2, 2), box(2, 2, 3, 3)]).to_file(path, layer="new_zones")
    with pytest.raises(ZonesError, match=r"holds 2 layers \(sez, new_zones\); set zones.layer"):
        load_zones(path, "sez_id")
    assert list(load_zones(path, "sez_id", layer="new_zones").zone_id) == ["b", "c"]
    with pytest.raises(ZonesError, match="has no layer 'nope'.*sez, new_zones"):
        load_zones(path, "sez_id", layer="nope")


def test_fingerprint_covers_every_file_of_a_shapefile(tmp_path):
    from sezlights.zones import dataset_files, fingerprint

    shp = tmp_path / "z.shp"
    zones(["a", "b"], [box(0, 0, 1, 1), box(1, 1, 2, 2)]).to_file(shp)
    names = sorted(p.suffix for p in dataset_files(shp))
    assert {".shp", ".shx", ".dbf", ".prj"} <= set(names)
    before = fingerprint(shp)
    dbf = shp.with_suffix(".dbf")
    data = dbf.read_bytes()
    dbf.write_bytes(data.replace(b"b", b"c", 1) if b"b" in data else data + b" ")
    assert fingerprint(shp) != before  # only the attribute table changed


def test_missing_file_message_says_what_to_check(tmp_path):
    from sezlights.zones import fingerprint

    with pytest.raises(ZonesError, match="does not exist; check zones.path"):
        fingerprint(tmp_path / "gone.gpkg")


def test_tables_without_geometry_are_not_layers(tmp_path):
    """QGIS keeps its styles in a GeoPackage's `layer_styles` table: not a second layer."""
    import pandas as pd
    import pyogrio

    path = tmp_path / "styled.gpkg"
    styles = pd.DataFrame({"styleName": ["sez"], "styleQML": ["<qgis/>"]})
    pyogrio.write_dataframe(styles, path, layer="layer_styles")  # first: the default layer
    zones(["a", "b"], [box(0, 0, 1, 1), box(1, 1, 2, 2)]).to_file(path, layer="sez")
    assert list(load_zones(path, "sez_id").zone_id) == ["a", "b"]
    with pytest.raises(ZonesError, match="has no layer 'layer_styles'.*its layers are: sez"):
        load_zones(path, "sez_id", layer="layer_styles")


def test_only_the_warning_about_a_temporary_name_is_silenced(tmp_path):
    import shutil
    import warnings

    gpkg = write(tmp_path, zones(["a"], [box(0, 0, 1, 1)]))
    tmp = shutil.copy(gpkg, tmp_path / "zones.gpkg.tmp")  # GDAL: "non conformant extension"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert list(load_zones(tmp, "sez_id").zone_id) == ["a"]
    # any other warning GDAL has about the file reaches the step's log
    from shapely.geometry import mapping

    features = [
        {"type": "Feature", "id": 1, "properties": {"sez_id": z}, "geometry": mapping(g)}
        for z, g in (("a", box(0, 0, 1, 1)), ("b", box(2, 0, 3, 1)))
    ]
    dup = tmp_path / "dup.geojson"
    dup.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with pytest.warns(RuntimeWarning, match="Several features with id = 1"):
        load_zones(dup, "sez_id")


def test_a_zones_step_prints_no_warning(tmp_path, capfd, monkeypatch):
    """prepare_zones' script as Snakemake runs it (a stand-in for its `snakemake` object):
    no pyogrio warning about a `.tmp` extension (nor any other) on the console or in its log."""
    import logging
    import runpy
    from types import SimpleNamespace

    from helpers import REPO, make_config

    path = write(tmp_path, zones(["a", "b"], [box(0, 0, 1, 1), box(1, 1, 2, 2)]))
    log = tmp_path / "logs/prepare_zones.log"
    job = SimpleNamespace(
        input=SimpleNamespace(zones=str(path)),
        output=SimpleNamespace(zones=str(tmp_path / "resources/zones.gpkg"),
                               areas=str(tmp_path / "results/zones/areas.csv"),
                               summary=str(tmp_path / "results/zones_summary.json")),
        params=SimpleNamespace(fingerprint="f", id_field="sez_id", layer=None, lon_field=None,
                               lat_field=None, point_radius_km=None, rings_km=[0, 5],
                               rings_exclude_zones=True, grids={
            "eog": {"name": "eog", "settings": {"pixel_arcsec": 600}},
            "blackmarble": {"name": "blackmarble", "settings": {"pixel_arcsec": 600}}}),
        config=make_config(sources=["eog", "blackmarble"]),
        log=[str(log)], rule="prepare_zones",
    )  # fmt: skip
    root = logging.getLogger()
    handlers = root.handlers[:]
    try:
        runpy.run_path(str(REPO / "workflow/scripts/prepare_zones.py"), {"snakemake": job})
    finally:
        logging.captureWarnings(False)
        for h in root.handlers[:]:
            if h not in handlers:
                root.removeHandler(h)
                h.close()
    out, err = capfd.readouterr()
    for text in (out, err, log.read_text()):
        assert "Warning" not in text and "extension" not in text, text
    assert len(load_zones(tmp_path / "resources/zones.gpkg", "zone_id")) == 2 + 2  # and rings


# ---------------------------------------------------------------- issue 21: ids, coordinates

UTM_BOX = box(270247, 9836842, 272247, 9838842)  # a zone near Nairobi in UTM 37S metres


@pytest.mark.filterwarnings("ignore:.crs. was not provided")
def test_missing_crs_suggests_epsg_4326_only_for_degrees(tmp_path):
    shp = tmp_path / "utm.shp"  # UTM metres, saved without its .prj
    gpd.GeoDataFrame({"sez_id": ["a"]}, geometry=[UTM_BOX]).to_file(shp)
    with pytest.raises(ZonesError, match="no coordinate reference system") as err:
        load_zones(shp, "sez_id")
    text = str(err.value)
    assert "not longitude/latitude degrees" in text and "270247" in text
    assert "EPSG:327NN" in text and "not EPSG:4326" in text
    deg = tmp_path / "deg.shp"
    gpd.GeoDataFrame({"sez_id": ["a"]}, geometry=[box(36.8, -1.3, 36.9, -1.2)]).to_file(deg)
    with pytest.raises(ZonesError, match="look like longitude/latitude: save it with EPSG:4326"):
        load_zones(deg, "sez_id")


def test_projected_coordinates_declared_as_degrees_stop_naming_the_zones(tmp_path):
    """UTM coordinates in a file that says EPSG:4326 (the no-CRS hint followed blindly):
    every zone would be outside_coverage with exit 0; it stops, naming the zones."""
    geoms = [UTM_BOX, box(36.8, -1.3, 36.9, -1.2), box(280000, 9830000, 281000, 9831000)]
    path = tmp_path / "z.geojson"
    path.write_text(zones(["nairobi-a", "fine", "nairobi-b"], geoms).to_json())
    with pytest.raises(ZonesError) as err:
        load_zones(path, "sez_id")
    text = str(err.value)
    assert "zone(s) nairobi-a, nairobi-b have coordinates" in text and "fine" not in text
    assert "outside longitude/latitude range" in text and "look projected" in text
    assert "declares EPSG:4326" in text


def test_zones_in_a_projected_crs_that_fits_are_read(tmp_path):
    g = zones(["a"], [UTM_BOX], crs="EPSG:32737")
    out = load_zones(write(tmp_path, g), "sez_id")
    minx, miny, maxx, maxy = out.geometry.iloc[0].bounds
    assert 36.0 < minx < maxx < 37.0 and -1.5 < miny < maxy < -1.4


def test_ids_equal_once_trimmed_stop_with_the_list(tmp_path):
    ids = ["A1", "A1 ", " A1", "B", "B\t", "C "]
    path = tmp_path / "z.gpkg"
    zones(ids, [box(i, 0, i + 1, 1) for i in range(len(ids))]).to_file(path)
    with pytest.raises(ZonesError) as err:
        load_zones(path, "sez_id")
    text = str(err.value)
    assert "differ only by spaces at either end: 'A1' and 'A1 ' and ' A1'; 'B' and 'B\\t'" in text
    assert "'C '" not in text  # one padded id alone is kept (and logged)
    assert "give them ids that differ by more than spaces" in text
