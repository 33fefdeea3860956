"""The workflow on S3 storage: the demo run with every output in a bucket.

The bucket is served by a real S3-compatible HTTP server in its own process
(moto's server, ``moto_server``, on 127.0.0.1). Snakemake talks to it through
snakemake-storage-plugin-s3 (``--default-storage-provider s3``), as it would to
AWS S3; the test lists and reads the bucket with boto3 over HTTP.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import (
    CLIENT_SECRET,
    PASSWORD,
    edit_config,
    files_containing,
    full_log,
    snakemake,
    workflow_dir,
)
from s3server import S3Server

pytestmark = pytest.mark.workflow

BUCKET = "sez-lights"
PREFIX = "run1"
MONTHS = ("2019-01", "2019-02", "2019-03")


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory):
    srv = S3Server(tmp_path_factory.mktemp("moto") / "moto_server.log")
    yield srv
    srv.stop()


def test_demo_on_s3_matches_local_run_and_reruns_nothing(eog_server, s3_server, tmp_path):
    tile_server = eog_server
    s3 = s3_server
    s3.client.create_bucket(Bucket=BUCKET)
    args = s3.storage_args(BUCKET, PREFIX)

    # the reference: the same demo, on the local disk
    ref = workflow_dir(tmp_path / "local", tile_server, mosaic={"keep": True})
    snakemake(ref)
    local_gets = len(tile_server.file_gets())

    work = workflow_dir(
        tmp_path / "s3", tile_server, mosaic={"keep": True}, listings={"refresh": "daily"}
    )
    p = snakemake(work, *args)
    assert "Storing in storage: s3://" in full_log(work)
    objects = s3.objects(BUCKET, PREFIX)
    expected = [
        "results/zonal_stats.csv",
        "results/zones_summary.json",
        "results/report/files.csv",
        "results/report/run_summary.html",
        "results/report/zones_shown.csv",
        "results/report/zonal_stats.html",
        "results/report/overview.png",
        "resources/zones.gpkg",
        "resources/index/eog.npz",
        "resources/index/eog.json",
        *[f"results/stats/eog/{m}.csv" for m in MONTHS],
        *[f"results/manifests/eog/{m}.json" for m in MONTHS],
        *[f"resources/mosaic/eog/{m}/{b}.tif" for m in MONTHS for b in ("radiance", "coverage")],
    ]
    assert [k for k in expected if k not in objects] == []
    for d in ("results/report/maps/eog/", "results/report/timeseries/"):
        assert sum(k.startswith(d) and k.endswith(".png") for k in objects) == 6, d
    tiles = [k for k in objects if k.startswith("resources/files/eog/") and k.endswith(".tgz")]
    assert len(tiles) == 4 * len(MONTHS)
    # results live in the bucket only: no copies are left in the working directory
    assert not (work / "results").exists()
    assert not list((work / ".snakemake/storage").rglob("*.csv"))

    # the bucket's table and monthly tables are the local run's, byte for byte
    for rel in ["results/zonal_stats.csv", *[f"results/stats/eog/{m}.csv" for m in MONTHS]]:
        assert s3.read(BUCKET, f"{PREFIX}/{rel}") == (ref / rel).read_bytes(), rel

    # a second identical run finds everything in the bucket and does nothing
    gets = tile_server.file_gets()
    assert len(gets) == 2 * local_gets
    p = snakemake(work, *args)
    assert "Nothing to be done" in p.stdout + p.stderr
    assert "Storing in storage" not in full_log(work)
    assert tile_server.file_gets() == gets
    assert s3.objects(BUCKET, PREFIX) == objects

    # a republished tile is noticed by the next listing (listings.refresh: always lists at
    # every run): every month is listed again, that month only is made again
    d = tile_server.tree / "2019/201902/vcmcfg"
    old = next(d.glob("*75N060W*"))
    old.rename(d / old.name.replace("c201903051200", "c201903221000"))
    edit_config(work, lambda c: c.update(listings={"refresh": "always"}))
    p = snakemake(work, *args)
    after = s3.objects(BUCKET, PREFIX)
    changed = {k for k in after if after[k] != objects.get(k)}
    results = sorted(
        k for k in changed
        if k.startswith("results/") and "/report/" not in k and "/manifests/" not in k
    )  # fmt: skip
    assert results == [
        "results/README.txt",  # lists each file with its creation stamp
        "results/run.json",
        "results/stats/eog/2019-02.csv",
        "results/zonal_stats.csv",
        "results/zonal_stats.parquet",
        "results/zonal_stats_wide.csv",
    ], results
    assert json.loads(s3.read(BUCKET, f"{PREFIX}/results/manifests/eog/2019-02.json"))["granules"]
    new = tile_server.file_gets()[len(gets) :]
    assert len(new) == 1 and new[0].endswith("75N060W_vcmcfg_v10_c201903221000.tgz"), new

    # the run report builds from the bucket
    p = subprocess.run(
        [sys.executable, "-m", "snakemake", "--configfile", "config/test.yaml", *args]
        + ["--report", str(work / "report.html")],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    html = (work / "report.html").read_text()
    assert "zonal_stats.csv" in html and "KE-ATHI-EPZ" in html

    # neither the password nor the client secret reaches the bucket (or the working copy)
    leaked = [
        k
        for k in s3.objects(BUCKET, PREFIX)
        if any(s.encode() in s3.read(BUCKET, f"{PREFIX}/{k}") for s in (CLIENT_SECRET, PASSWORD))
    ]
    assert leaked == []
    assert files_containing(work, CLIENT_SECRET, PASSWORD) == []


def test_temporary_tiles_and_mosaics_leave_the_bucket(eog_server, s3_server, tmp_path):
    tile_server = eog_server
    """download.keep and mosaic.keep false: temp() outputs are deleted from storage."""
    s3 = s3_server
    s3.client.create_bucket(Bucket="sez-temp")
    args = s3.storage_args("sez-temp", PREFIX)
    work = workflow_dir(tmp_path, tile_server, download={"keep": False}, mosaic={"keep": False})
    p = snakemake(work, *args)
    assert "Removing temporary output s3://sez-temp/run1/resources/files/" in full_log(work)
    keys = s3.objects("sez-temp", PREFIX)
    assert "results/zonal_stats.csv" in keys
    assert [k for k in keys if k.startswith(("resources/files/", "resources/mosaic/"))] == []
    assert not list((work / ".snakemake/storage").rglob("*.tgz"))
    p = snakemake(work, *args)
    assert "Nothing to be done" in p.stdout + p.stderr
