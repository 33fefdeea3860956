"""The real workflow, run by Snakemake in a temporary folder against the local stand-ins."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from helpers import (
    CLIENT_SECRET,
    EARTHDATA_TOKEN,
    PASSWORD,
    PIXEL_ARCSEC,
    REPO,
    SERVER_PATH,
    approx,
    edit_config,
    eog_globe,
    eog_standin,
    files_containing,
    kill_when,
    last_line,
    oracle,
    read_table,
    set_months,
    snakemake,
    workflow_dir,
)

from sezlights.standin import eog_tiles
from sezlights.table import COLUMNS
from sezlights.zones import load_zones

pytestmark = pytest.mark.workflow


def check_against_oracle(table: pd.DataFrame, zones_path):
    zones = load_zones(zones_path, "zone_id").set_index("zone_id")
    for month, rows in table.groupby("month"):
        globe = eog_globe(month)
        for _, row in rows.iterrows():
            ref = oracle(zones.geometry[row.zone_id], *globe)
            assert row["quality"] == ref.pop("quality"), (month, row.zone_id)
            for k, v in ref.items():
                assert row[k] == approx(k, v), (month, row.zone_id, k)


def test_demo_end_to_end_reruns_and_extension(eog_server, tmp_path):
    work = workflow_dir(tmp_path, eog_server)
    p = snakemake(work)
    table = read_table(work / "results/zonal_stats.csv")
    assert list(table.columns) == COLUMNS and len(table) == 6 * 3
    assert table.equals(table.sort_values(["zone_id", "month", "source"]).reset_index(drop=True))
    check_against_oracle(table, work / "config/zones/demo_zones.geojson")
    for m in ("2019-01", "2019-02", "2019-03"):
        assert (work / f"results/stats/eog/{m}.csv").exists()
        assert (work / f"results/manifests/eog/{m}.json").exists()
    # the run ends by saying where the results are
    assert "table: results/zonal_stats.csv" in p.stderr
    # the demo zones need 4 of the 6 tiles a month
    first = eog_server.file_gets()
    assert len(first) == 4 * 3
    assert not any("00N180W" in f or "00N060E" in f for f in first)

    # a second run does nothing and downloads nothing
    mtimes = {p: p.stat().st_mtime_ns for p in (work / "results/stats/eog").glob("*.csv")}
    p = snakemake(work)
    assert "Nothing to be done" in p.stdout + p.stderr
    assert eog_server.file_gets() == first

    # extending months.end computes the new month only
    set_months(work, "2019-01", "2019-04")
    snakemake(work)
    new = eog_server.file_gets()[len(first) :]
    assert len(new) == 4 and all("/201904/" in f for f in new)
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    assert sorted(read_table(work / "results/zonal_stats.csv").month.unique()) == [
        "2019-01", "2019-02", "2019-03", "2019-04",
    ]  # fmt: skip

    # a republished tile (new creation stamp) recomputes that month only
    d = eog_server.tree / "2019/201902/vcmcfg"
    old = next(d.glob("*75N060W*"))
    old.rename(d / old.name.replace("c201903051200", "c201903221000"))
    mtimes = {p: p.stat().st_mtime_ns for p in (work / "results/stats/eog").glob("*.csv")}
    p = snakemake(work)
    assert "republished 75N060W 201903051200 -> 201903221000" in p.stdout + p.stderr
    changed = sorted(q.name for q, t in mtimes.items() if q.stat().st_mtime_ns != t)
    assert changed == ["2019-02.csv"]
    assert eog_server.file_gets()[-1].endswith("75N060W_vcmcfg_v10_c201903221000.tgz")

    # secrets never land in any file the run leaves (logs, benchmarks, metadata, results)
    assert files_containing(work, PASSWORD, CLIENT_SECRET, EARTHDATA_TOKEN) == []


def test_killed_run_resumes_to_identical_results(eog_server, tmp_path):
    ref = workflow_dir(tmp_path / "a", eog_server)
    snakemake(ref)
    work = workflow_dir(tmp_path / "b", eog_server)
    proc = snakemake(work, "--cores", "1", wait=False)
    # with one core, the first month's CSV appearing leaves two months and the table to do
    kill_when(proc, lambda: any((work / "results/stats/eog").glob("*.csv")))
    assert not (work / "results/zonal_stats.csv").exists()
    snakemake(work, "--unlock")
    snakemake(work)
    for rel in [
        "results/zonal_stats.csv",
        *[f"results/stats/eog/2019-0{m}.csv" for m in (1, 2, 3)],
    ]:
        assert (work / rel).read_bytes() == (ref / rel).read_bytes(), rel


@pytest.mark.parametrize(
    "months, message",
    [
        ({"start": "2019-05", "end": "2019-04"}, "start 2019-05 is after end 2019-04"),
        (
            {"start": "2012-01", "end": "2019-04"},
            "2012-01 is before 2012-04, the first month of EOG",
        ),
        ({"start": "2019-13", "end": "2019-04"}, "month 13"),
        ({"start": "Jan 2019", "end": "2019-04"}, "does not match"),
    ],
)
def test_bad_config_fails_before_any_job_with_one_line_last(eog_server, tmp_path, months, message):
    work = workflow_dir(tmp_path, eog_server)
    set_months(work, months["start"], months["end"])
    p = snakemake(work, check=False)
    assert p.returncode != 0
    assert message in last_line(p)
    assert "Traceback" not in p.stdout + p.stderr
    assert not (work / "results").exists()


def test_bad_zones_file_is_one_clear_error(eog_server, tmp_path):
    work = workflow_dir(tmp_path, eog_server)
    (work / "config/zones/demo_zones.geojson").write_text("not geojson at all")
    p = snakemake(work, check=False)
    assert p.returncode != 0
    assert "could not be read as a vector layer" in last_line(p)
    assert "Traceback" not in p.stdout + p.stderr


def test_wrong_password_is_one_clear_error_last(eog_server, tmp_path):
    work = workflow_dir(tmp_path, eog_server)
    p = snakemake(work, check=False, env={"EOG_PASSWORD": "wrong-password-123"})
    assert p.returncode != 0
    assert "EOG rejected the username or password" in last_line(p)
    out = p.stdout + p.stderr
    assert "wrong-password-123" not in out and out.count("EOG rejected the username") <= 2
    assert files_containing(work, "wrong-password-123", CLIENT_SECRET) == []


def test_retired_public_client_is_explained(eog_server, tmp_path):
    work = workflow_dir(tmp_path, eog_server)
    p = snakemake(work, check=False, drop=("EOG_CLIENT_ID", "EOG_CLIENT_SECRET"))
    assert p.returncode != 0
    assert "EOG no longer accepts the public client: set EOG_CLIENT_ID and EOG_CLIENT_SECRET" in (
        last_line(p)
    )


# ---------------------------------------------------------------- EOG as it is


@pytest.fixture(scope="module")
def real_service_trees(tmp_path_factory):
    """The real service's variants (13-digit stamp, NOAA-20 folder, avg_rade9 members,
    extra cvg members), and the same months as plain archives."""
    out = {}
    for plain in (False, True):
        root = tmp_path_factory.mktemp("plain" if plain else "real") / SERVER_PATH
        for start, end in (("2014-01", "2014-01"), ("2022-07", "2022-09")):
            eog_tiles.make_tree(
                root, start, end, PIXEL_ARCSEC, product=("vcmcfg", "vcmslcfg"), plain=plain
            )
        out[plain] = root.parents[2]
    return out


@pytest.mark.parametrize(
    "product, start, end",
    [("vcmcfg", "2014-01", "2014-01"), ("vcmslcfg", "2014-01", "2014-01"),
     ("vcmcfg", "2022-07", "2022-09")],
)  # fmt: skip
def test_the_real_service_with_tokens_that_expire_gives_the_plain_numbers(
    real_service_trees, tmp_path, product, start, end
):
    """Tokens of 2 s instead of 5 minutes, a download cut after its token expired, the
    Apaxy listings, the 13-digit stamp, the NOAA-20 month, old member names: the table
    equals one made from plain archives, and the satellite is recorded."""
    tables = {}
    for plain, tree in real_service_trees.items():
        with eog_standin(tree, token_lifetime=1 if not plain else 300) as srv:
            work = workflow_dir(tmp_path / str(plain), srv, source={"product": product})
            set_months(work, start, end)
            if not plain:
                srv.stall_seconds = 1.5
                srv.add_faults("_75N060W_", "stall")  # cut mid-body; resumed after expiry
                edit_config(work, lambda c: c["download"].update(timeout=1))
            snakemake(work)
            tables[plain] = read_table(work / "results/zonal_stats.csv")
            if not plain:
                assert "refresh_token" in srv.grants or srv.grants.count("password") > 1
                assert 599 in [s for _, p, s in srv.requests if "_75N060W_" in p]
                assert files_containing(work, PASSWORD, CLIENT_SECRET) == []
    real, ref = tables[False], tables[True]
    pd.testing.assert_frame_equal(real.drop(columns="satellite"), ref.drop(columns="satellite"))
    if start == "2022-07":
        sat = real.set_index("month").satellite.groupby(level=0).first()
        assert sat.to_dict() == {"2022-07": "npp", "2022-08": "j01", "2022-09": "npp"}


def test_latest_means_the_newest_month_with_every_needed_file(eog_server, tmp_path):
    # 2019-04 lacks a tile the zones need: latest is 2019-03, and the run says why
    next((eog_server.tree / "2019/201904/vcmcfg").glob("*00N060W*")).unlink()
    work = workflow_dir(tmp_path, eog_server)
    set_months(work, "2019-02", "latest")
    p = snakemake(work)
    out = p.stdout + p.stderr
    assert "skipped 2019-04" in out and "00N060W" in out
    assert sorted(read_table(work / "results/zonal_stats.csv").month.unique()) == [
        "2019-02",
        "2019-03",
    ]


def test_the_workflow_works_as_a_snakemake_module(eog_server, tmp_path):
    """Another workflow imports ours with `module` from a local path and its own config."""
    import yaml

    work = workflow_dir(tmp_path, eog_server)
    cfg = yaml.safe_load((work / "config/test.yaml").read_text())
    consumer = tmp_path / "consumer"
    (consumer / "config").mkdir(parents=True)
    (consumer / "zones").mkdir()
    gpd.read_file(REPO / "config/zones/demo_zones.geojson").to_file(consumer / "zones/z.gpkg")
    cfg["zones"] = {"path": "zones/z.gpkg", "id_field": "zone_id"}
    (consumer / "config/config.yaml").write_text(yaml.safe_dump({"sez": cfg}))
    (consumer / "Snakefile").write_text(
        f'configfile: "config/config.yaml"\n\n\n'
        f'module sez:\n    snakefile:\n        "{REPO}/workflow/Snakefile"\n'
        f'    config:\n        config["sez"]\n\n\n'
        f"use rule * from sez as sez_*\n\n\n"
        f"rule all:\n    input:\n        rules.sez_combine_zone_stats.output.table,\n"
        f"    default_target: True\n"
    )
    snakemake(consumer, configfile=None, profile=str(REPO / "profiles/laptop"))
    table = read_table(consumer / "results/zonal_stats.csv")
    assert len(table) == 6 * 3 and set(table.source) == {"eog"}
