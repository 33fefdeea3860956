"""Never a stale or silently wrong result: each case reproduced as an analyst would meet it.

Each of these finished with exit 0 and a table that was not about the user's current
inputs before (issue: "Never a stale or silently wrong result").
"""

from __future__ import annotations

import os
import shutil
import time

import geopandas as gpd
import pytest
import yaml
from helpers import REPO, last_line, read_table, snakemake, workflow_dir
from shapely.geometry import box

pytestmark = pytest.mark.workflow


def one_month(work, **zones):
    cfg = yaml.safe_load((work / "config/test.yaml").read_text())
    cfg["months"] = {"start": "2019-01", "end": "2019-01"}
    cfg["zones"].update(zones)
    (work / "config/test.yaml").write_text(yaml.safe_dump(cfg))
    return cfg


def user_config(work, cfg: dict, drop: list[str]) -> str:
    """The user's own config file, written without the keys in ``drop`` (a.b)."""
    for key in drop:
        node = cfg
        *parents, last = key.split(".")
        for k in parents:
            node = node[k]
        node.pop(last)
    (work / "mine.yaml").write_text(yaml.safe_dump(cfg))
    return "mine.yaml"


# ------------------------------------------------ 1. the example config never leaks in


@pytest.mark.parametrize(
    "drop, message",
    [
        (["zones"], "'zones' is a required property"),
        (["months.end"], "'end' is a required property"),
        (["zones.id_field"], "'id_field' is a required property"),
    ],
)
def test_required_keys_come_from_the_users_config_or_fail(eog_server, tmp_path, drop, message):
    work = workflow_dir(tmp_path, eog_server)
    cfg = one_month(work)
    mine = user_config(work, cfg, drop)
    p = snakemake(work, check=False, configfile=mine)
    assert p.returncode != 0 and message in last_line(p)
    assert not (work / "results").exists()


def test_defaults_come_from_the_schema_not_the_example_config(eog_server, tmp_path):
    """The example config/config.yaml says months 2019-01..2019-12 and demo zones; a user
    file with only its own keys gets nothing from it."""
    work = workflow_dir(tmp_path, eog_server)
    cfg = one_month(work)
    # the shipped example would give report.max_zones 50 and weighting coverage: make it
    # say otherwise, to see that nothing of it is read
    example = yaml.safe_load((work / "config/config.yaml").read_text())
    example["stats"]["weighting"] = "all_touched"
    example["zones"]["path"] = "config/zones/does-not-exist.gpkg"
    (work / "config/config.yaml").write_text(yaml.safe_dump(example))
    cfg.pop("stats", None)
    mine = user_config(work, cfg, [])
    snakemake(work, "results/zonal_stats.csv", configfile=mine)
    table = read_table(work / "results/zonal_stats.csv")
    assert len(table) == 6
    # coverage weighting (the schema's default): a sub-pixel zone has a fractional weight
    assert table.set_index("zone_id").loc["ET-HAWASSA-TINY", "pixels"] < 1


# ------------------------------------------------ 2. the zones' identity is their content


def test_an_edited_dbf_alone_reruns_with_the_new_ids(eog_server, tmp_path):
    work = workflow_dir(tmp_path, eog_server)
    shp = work / "config/zones/z.shp"
    gpd.read_file(REPO / "config/zones/demo_zones.geojson").to_file(shp)
    one_month(work, path="config/zones/z.shp")
    snakemake(work, "results/zonal_stats.csv")
    assert "KE-ATHI-EPZ" in set(read_table(work / "results/zonal_stats.csv").zone_id)
    # rename one id in the attribute table only: .shp and .shx untouched
    gdf = gpd.read_file(shp)
    gdf.loc[gdf.zone_id == "KE-ATHI-EPZ", "zone_id"] = "KE-ATHI-RENAMED"
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    gdf.to_file(tmp / "z.shp")
    before = (shp.read_bytes(), shp.with_suffix(".shx").read_bytes())
    shutil.copy(tmp / "z.dbf", shp.with_suffix(".dbf"))
    assert (shp.read_bytes(), shp.with_suffix(".shx").read_bytes()) == before
    p = snakemake(work, "results/zonal_stats.csv")
    assert "Nothing to be done" not in p.stdout + p.stderr
    ids = set(read_table(work / "results/zonal_stats.csv").zone_id)
    assert "KE-ATHI-RENAMED" in ids and "KE-ATHI-EPZ" not in ids


def test_an_older_copy_put_back_with_its_old_time_is_seen(eog_server, tmp_path):
    work = workflow_dir(tmp_path, eog_server)
    zones = work / "config/zones/z.gpkg"
    gdf = gpd.read_file(REPO / "config/zones/demo_zones.geojson")
    old = tmp_path / "old.gpkg"
    gdf.iloc[:3].to_file(old)  # an older file with three zones
    os.utime(old, (time.time() - 86400, time.time() - 86400))
    gdf.to_file(zones)
    one_month(work, path="config/zones/z.gpkg")
    snakemake(work, "results/zonal_stats.csv")
    assert read_table(work / "results/zonal_stats.csv").zone_id.nunique() == 6
    shutil.copy2(old, zones)  # cp -p: content and the old modification time
    snakemake(work, "results/zonal_stats.csv")
    assert read_table(work / "results/zonal_stats.csv").zone_id.nunique() == 3
    import json

    from sezlights.zones import fingerprint

    summary = json.loads((work / "results/zones_summary.json").read_text())
    assert summary["sha256"] == fingerprint(zones) and summary["zones"] == 3


def test_a_zones_file_that_no_longer_exists_always_fails(eog_server, tmp_path):
    work = workflow_dir(tmp_path, eog_server)
    one_month(work)
    snakemake(work, "results/zonal_stats.csv")
    (work / "config/zones/demo_zones.geojson").unlink()
    p = snakemake(work, "results/zonal_stats.csv", check=False)
    assert p.returncode != 0
    assert "zones file config/zones/demo_zones.geojson does not exist" in last_line(p)


# ------------------------------------------------ 3. several layers


def test_a_geopackage_with_several_layers_stops_and_lists_them(eog_server, tmp_path):
    work = workflow_dir(tmp_path, eog_server)
    gpkg = work / "config/zones/z.gpkg"
    gdf = gpd.read_file(REPO / "config/zones/demo_zones.geojson")
    gdf.iloc[:4].to_file(gpkg, layer="sez")
    one_month(work, path="config/zones/z.gpkg")
    snakemake(work, "results/zonal_stats.csv")
    assert read_table(work / "results/zonal_stats.csv").zone_id.nunique() == 4
    # what GeoDataFrame.to_file on an existing file does: it appends a layer
    more = gpd.GeoDataFrame(
        {"zone_id": ["NEW-1", "NEW-2"]}, geometry=[box(32.5, 0.3, 32.6, 0.4)] * 2, crs=4326
    )
    more.to_file(gpkg, layer="sez_2026")
    p = snakemake(work, "results/zonal_stats.csv", check=False)
    assert p.returncode != 0
    assert "holds 2 layers (sez, sez_2026); set zones.layer" in last_line(p)
    one_month(work, path="config/zones/z.gpkg", layer="sez_2026")
    snakemake(work, "results/zonal_stats.csv")
    assert set(read_table(work / "results/zonal_stats.csv").zone_id) == {"NEW-1", "NEW-2"}
