"""The real workflow, run by Snakemake in a temporary directory against the local tile server."""

from pathlib import Path

import pandas as pd
import pytest
from conftest import (
    PASSWORD,
    TOKEN,
    files_containing,
    global_arrays,
    global_transform,
    kill_when,
    set_months,
    snakemake,
    workflow_dir,
)
from test_mosaic_stats import reference_stats

from sezlights.zones import load_zones

pytestmark = pytest.mark.workflow


def check_against_reference(table: pd.DataFrame, zones_path: Path):
    zones = load_zones(zones_path, "zone_id")
    gt = global_transform()
    for month, rows in table.groupby("month"):
        rad, cvg = global_arrays(month)
        rows = rows.set_index("zone_id")
        for zid, geom in zip(zones.zone_id, zones.geometry, strict=True):
            ref = reference_stats(geom, rad, cvg, gt)
            for k, v in ref.items():
                assert rows.loc[zid, k] == pytest.approx(v, rel=1e-5, abs=1e-4), (month, zid, k)


def test_demo_end_to_end_reruns_and_extension(tile_server, tmp_path):
    work = workflow_dir(tmp_path, tile_server)
    snakemake(work)
    table = pd.read_csv(work / "results/zonal_stats.csv", dtype={"zone_id": str})
    assert len(table) == 6 * 3
    assert list(table.columns[:3]) == ["zone_id", "month", "pixel_count"]
    assert table.equals(table.sort_values(["zone_id", "month"]).reset_index(drop=True))
    check_against_reference(table, work / "config/zones/demo_zones.geojson")
    for m in ("2019-01", "2019-02", "2019-03"):
        assert (work / f"results/stats/{m}.csv").exists()
        assert (work / f"results/manifests/{m}.json").exists()
    # the demo zones need 4 of the 6 tiles a month
    first = tile_server.file_gets()
    assert len(first) == 4 * 3
    assert not any("00N180W" in p or "00N060E" in p for p in first)

    # a second run does nothing and downloads nothing
    mtimes = {p: p.stat().st_mtime_ns for p in (work / "results/stats").glob("*.csv")}
    p = snakemake(work)
    assert "Nothing to be done" in p.stdout + p.stderr
    assert tile_server.file_gets() == first

    # extending months.end computes the new month only
    set_months(work, "2019-01", "2019-04")
    snakemake(work)
    new = tile_server.file_gets()[len(first) :]
    assert len(new) == 4 and all("/201904/" in p for p in new)
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    table = pd.read_csv(work / "results/zonal_stats.csv", dtype={"zone_id": str})
    assert sorted(table.month.unique()) == ["2019-01", "2019-02", "2019-03", "2019-04"]

    # a republished tile (new creation stamp) recomputes that month only
    d = tile_server.tree / "2019/201902/vcmcfg"
    old = next(d.glob("*75N060W*"))
    old.rename(d / old.name.replace("c201903051200", "c201903221000"))
    mtimes = {p: p.stat().st_mtime_ns for p in (work / "results/stats").glob("*.csv")}
    p = snakemake(work)
    assert "republished 75N060W 201903051200 -> 201903221000" in p.stderr
    changed = sorted(q.name for q, t in mtimes.items() if q.stat().st_mtime_ns != t)
    assert changed == ["2019-02.csv"]
    assert tile_server.file_gets()[-1].endswith("75N060W_vcmcfg_v10_c201903221000.tgz")

    # secrets never land in any file the run leaves (logs, benchmarks, metadata, results)
    assert files_containing(work, PASSWORD, TOKEN) == []


def test_killed_run_resumes_to_identical_results(tile_server, tmp_path):
    ref = workflow_dir(tmp_path / "a", tile_server)
    snakemake(ref)
    work = workflow_dir(tmp_path / "b", tile_server)
    proc = snakemake(work, "--cores", "1", wait=False)
    # with one core, the first month's CSV appearing leaves two months and the table to do
    kill_when(proc, lambda: any((work / "results/stats").glob("*.csv")))
    assert not (work / "results/zonal_stats.csv").exists()
    snakemake(work, "--unlock")
    snakemake(work)
    for rel in ["results/zonal_stats.csv", *[f"results/stats/2019-0{m}.csv" for m in (1, 2, 3)]]:
        assert (work / rel).read_bytes() == (ref / rel).read_bytes(), rel


@pytest.mark.parametrize(
    "months, message",
    [
        ({"start": "2019-05", "end": "2019-04"}, "start 2019-05 is after end 2019-04"),
        ({"start": "2011-01", "end": "2019-04"}, "before 2012-04"),
        ({"start": "2019-13", "end": "2019-04"}, "month 13"),
        ({"start": "Jan 2019", "end": "2019-04"}, "does not match"),
    ],
)
def test_bad_config_fails_before_any_job(tile_server, tmp_path, months, message):
    work = workflow_dir(tmp_path, tile_server)
    set_months(work, months["start"], months["end"])
    p = snakemake(work, check=False)
    assert p.returncode != 0
    assert message in p.stdout + p.stderr
    assert not (work / "results").exists()


def test_bad_zones_file_is_one_clear_error(tile_server, tmp_path):
    work = workflow_dir(tmp_path, tile_server)
    (work / "config/zones/demo_zones.geojson").write_text("not geojson at all")
    p = snakemake(work, check=False)
    assert p.returncode != 0
    out = p.stdout + p.stderr
    assert "could not be read as a vector layer" in out
    assert "Traceback" not in out


def test_wrong_password_is_one_clear_error(tile_server, tmp_path):
    work = workflow_dir(tmp_path, tile_server)
    p = snakemake(work, check=False, password="wrong-password-123")
    out = p.stdout + p.stderr
    assert p.returncode != 0
    assert "login failed: set EOG_TOKEN or EOG_USERNAME/EOG_PASSWORD" in out
    assert "wrong-password-123" not in out
    assert files_containing(work, "wrong-password-123", TOKEN) == []
