"""Rings, points, timing and the analysis-ready files, through real Snakemake runs
against the EOG stand-in: what each setting change reruns (by files' mtimes and the
server's request counts), and ring statistics against the oracle."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers import (
    check_against_oracle,
    edit_config,
    eog_globe,
    last_line,
    read_table,
    snakemake,
    workflow_dir,
)

from sezlights import table
from sezlights.zones import read_prepared

pytestmark = pytest.mark.workflow

MONTHS = {"start": "2019-01", "end": "2019-02"}
TIMING = {"rings_km": [0, 20], "start_field": "established", "keep_fields": ["country"]}


def mtimes(work, pattern):
    return {p: p.stat().st_mtime_ns for p in sorted(work.glob(pattern))}


def changed(before):
    return sorted(p.name for p, t in before.items() if p.stat().st_mtime_ns != t)


def test_rings_and_timing_reach_every_output_and_rerun_only_what_they_change(eog_server, tmp_path):
    work = workflow_dir(tmp_path, eog_server, months=MONTHS, zones=TIMING)
    p = snakemake(work)
    df = read_table(work / "results/zonal_stats.csv")
    assert list(df.columns) == table.columns(["country"])
    assert len(df) == (6 + 6) * 2
    rings = df[df.zone_kind == "ring"]
    assert set(rings.zone_id) == {f"{z}__ring_0_20km" for z in df.parent_id.unique()}
    assert (rings.ring_inner_km == 0).all() and (rings.ring_outer_km == 20).all()
    # each zone, then its ring; a ring has its zone's attributes and timing
    first = df[df.month == "2019-01"]
    assert list(first.zone_id[:2]) == ["ET-HAWASSA-TINY", "ET-HAWASSA-TINY__ring_0_20km"]
    ug = df[df.parent_id == "UG-EQUATOR-IP"].set_index(["zone_id", "month"])
    assert ug.loc[("UG-EQUATOR-IP__ring_0_20km", "2019-01"), "months_since_start"] == -1
    assert ug.loc[("UG-EQUATOR-IP", "2019-02"), "months_since_start"] == 0
    assert (ug.country == "Uganda").all() and (ug.start_month == "2019-02").all()
    ke = df[df.zone_id == "KE-ATHI-EPZ"].set_index("month")
    assert ke.loc["2019-01", "months_since_start"] == 26 * 12  # 1993: from its January
    # ring statistics against the oracle, for the rings the pipeline drew
    areas = read_prepared(work / "resources/zones.gpkg")
    globes = {m: eog_globe(m) for m in ("2019-01", "2019-02")}
    check_against_oracle(df, areas, globes)

    # the analysis-ready files, and where they are
    back = pd.read_parquet(work / "results/zonal_stats.parquet")
    assert len(back) == len(df) and list(back.columns) == list(df.columns)
    wide = pd.read_csv(work / "results/zonal_stats_wide.csv", dtype={"zone_id": str})
    assert len(wide) == 12 and list(wide.columns[-2:]) == ["2019-01", "2019-02"]
    readme = (work / "results/README.txt").read_text()
    assert "months_since_start" in readme and "75N060W" in readme
    run = json.loads((work / "results/run.json").read_text())
    assert run["parquet"] == "results/zonal_stats.parquet"
    assert run["wide"] == "results/zonal_stats_wide.csv" and run["readme"] == "results/README.txt"
    out = p.stdout + p.stderr
    assert "also: results/zonal_stats.parquet, results/zonal_stats_wide.csv" in out
    assert (work / "results/report/event_study.png").stat().st_size > 10_000
    zone_figures = list((work / "results/report/timeseries").glob("*.png"))
    assert len(zone_figures) == 6  # one per zone, its ring in it

    gets = eog_server.file_gets()
    stats = mtimes(work, "results/stats/eog/*.csv")
    index = mtimes(work, "resources/index/*.npz")

    # kept fields and the start field rewrite the table and its outputs only
    edit_config(work, lambda c: c["zones"].update(keep_fields=["country", "name"]))
    snakemake(work)
    assert changed(stats) == [] and changed(index) == []
    assert "name" in read_table(work / "results/zonal_stats.csv").columns
    edit_config(work, lambda c: c["zones"].update(start_field=None))
    snakemake(work)
    assert changed(stats) == [] and changed(index) == []
    assert (read_table(work / "results/zonal_stats.csv").start_month == "").all()
    assert eog_server.file_gets() == gets

    # new rings: the index and every month's statistics again, no new download
    edit_config(work, lambda c: c["zones"].update(rings_km=[0, 20, 40]))
    snakemake(work)
    assert changed(stats) == ["2019-01.csv", "2019-02.csv"] and changed(index) == ["eog.npz"]
    assert eog_server.file_gets() == gets
    df = read_table(work / "results/zonal_stats.csv")
    assert len(df) == (6 + 12) * 2
    assert "KE-ATHI-EPZ__ring_20_40km" in set(df.zone_id)


def test_points_with_a_radius_and_a_change_of_radius(eog_server, tmp_path):
    work = workflow_dir(tmp_path, eog_server, months={"start": "2019-01", "end": "2019-01"})
    pd.DataFrame(
        {
            "sez": ["007", "KE-POINT"],
            "lon": [36.98, 32.55],
            "lat": [-1.43, 0.01],
            "opened": ["2018-07", "2019"],
        }
    ).to_csv(work / "config/points.csv", index=False)
    zones = {"path": "config/points.csv", "id_field": "sez", "lon_field": "lon",
             "lat_field": "lat", "start_field": "opened"}  # fmt: skip
    edit_config(work, lambda c: c.update(zones=zones))
    p = snakemake(work, check=False)
    assert p.returncode != 0
    assert "zones.point_radius_km" in last_line(p)  # a table of points needs a radius
    edit_config(work, lambda c: c["zones"].update(point_radius_km=3))
    snakemake(work)
    df = read_table(work / "results/zonal_stats.csv").set_index("zone_id")
    assert list(df.index) == ["007", "KE-POINT"]
    assert (df["shape"] == "disc").all()
    assert df.loc["007", "area_km2"] == pytest.approx(3.14159 * 9, rel=1e-3)
    assert df.loc["007", "months_since_start"] == 6
    gets = eog_server.file_gets()
    stats = mtimes(work, "results/stats/eog/*.csv")
    edit_config(work, lambda c: c["zones"].update(point_radius_km=5))
    snakemake(work)
    assert changed(stats) == ["2019-01.csv"] and eog_server.file_gets() == gets
    df = read_table(work / "results/zonal_stats.csv").set_index("zone_id")
    assert df.loc["007", "area_km2"] == pytest.approx(3.14159 * 25, rel=1e-3)


def test_unreadable_start_dates_stop_the_run_with_one_message(eog_server, tmp_path):
    work = workflow_dir(tmp_path, eog_server, months={"start": "2019-01", "end": "2019-01"})
    path = work / "config/zones/demo_zones.geojson"
    text = path.read_text().replace('"established": "1993"', '"established": "1993-13"')
    path.write_text(text.replace('"established": "2018"', '"established": "next year"'))
    edit_config(work, lambda c: c["zones"].update(start_field="established"))
    p = snakemake(work, check=False)
    assert p.returncode != 0
    line = last_line(p)
    assert "2 zone(s) have a 'established' (zones.start_field) that is not a date" in line
    assert "KE-ATHI-EPZ ('1993-13')" in line and "MX-PUERTO-CHIAPAS ('next year')" in line
