"""World Bank Light Every Night (``len``): the public bucket read by window.

Real runs against a local S3 stand-in (ListObjectsV2 XML, ranged GETs, ETags,
``If-Match``) serving Cloud-Optimized GeoTIFFs in the bucket's real key layout, with its
processing lines, gaps and the month without ``n_cf`` (docs/evidence/lighteverynight.md),
at 10' pixels. The stand-in's listing is checked against moto's S3 (another
implementation of the same API); the statistics against the stand-in's own arrays.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from types import SimpleNamespace

import numpy as np
import pytest
from helpers import (
    PIXEL,
    REPO,
    approx,
    last_line,
    oracle,
    read_table,
    set_months,
    snakemake,
    workflow_dir,
)
from rasterio.windows import Window
from sezlights_standin import grids
from sezlights_standin import lighteverynight as bucket
from sezlights_standin.s3bucket import S3BucketServer

from sezlights import sources
from sezlights.errors import ChangedFileError, MissingFileError
from sezlights.http import make_session
from sezlights.sources.lighteverynight import parse_listing
from sezlights.zones import load_zones

workflow = pytest.mark.workflow
MONTHS = ("2014-02", "2014-03", "2017-03", "2017-04", "2017-10", "2024-10", "2025-06")


@pytest.fixture(scope="session")
def len_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("len")
    for month in MONTHS:
        bucket.write_layers(root, month, "slexcl", PIXEL)
    for month in ("2024-10", "2025-06"):
        bucket.write_layers(root, month, "slcorr", PIXEL)
    return root


@pytest.fixture
def len_server(len_tree, tmp_path_factory):
    root = tmp_path_factory.mktemp("len-server")
    shutil.copytree(len_tree, root, dirs_exist_ok=True)
    with S3BucketServer(root, page_size=4) as srv:  # listings span pages
        srv.tree = root
        yield srv


def len_source(server, **settings):
    return sources.make("len", {"base_url": server.url, "pixel_arcsec": PIXEL * 3600, **settings})


def len_globe(month: str, stray_light: str = "slexcl"):
    """The stand-in's own arrays (no TIFF reader): radiance with -999.3 as no value, and
    n_cf, on the pipeline's lattice (the file's extra row and column left out)."""
    transform, rows, cols = grids.eog_global(PIXEL)
    rad, ncf = bucket.block(month, stray_light, PIXEL, 0, rows)
    rad = rad[:-1, :-1].astype(np.float32)
    rad[rad < -900] = np.nan
    lat = SimpleNamespace(
        pixel=PIXEL, west=transform.c, north=transform.f, rows=rows - 1, cols=cols - 1
    )
    return rad, ncf[:-1, :-1].astype(np.float32), lat


def zones():
    return load_zones(REPO / "config/zones/demo_zones.geojson", "zone_id").set_index("zone_id")


# ---------------------------------------------------------------- listing


def test_the_listing_matches_names_and_knows_each_processing_line(len_server):
    src, s = len_source(len_server), make_session()
    got = {m: src.list_month(s, m, ["global"]) for m in MONTHS}
    products = {m: [g.product for g in man.granules] for m, man in got.items()}
    assert products == {
        "2014-02": ["vcm-slexcl_v10_rp2"],
        "2014-03": [],
        "2017-03": ["vcm-slexcl_v10_rp2"],
        "2017-04": ["vcm-slexcl_v10_ops"],
        "2017-10": [],
        "2024-10": ["ecmcfg_v10_ops"],
        "2025-06": ["ecm-slexcl_v10_ops"],
    }
    # a gap, and a month without n_cf: no file, its pixels unobserved, said in a note
    assert got["2014-03"].absent == [
        {"product": "vcm-slexcl_v10_rp2", "satellite": "npp", "tile": "global"}
    ]
    assert "a gap in Light Every Night" in got["2014-03"].notes[0]
    assert "no n_cf file for 2017-10" in got["2017-10"].notes[0]
    g = got["2025-06"].granules[0]
    assert [p.kind for p in g.parts] == ["radiance", "coverage"]
    assert all(p.etag and p.size and p.modified for p in g.parts)
    corrected = len_source(len_server, stray_light="slcorr")
    assert corrected.list_month(s, "2024-10", ["global"]).granules[0].product == "ecmslcfg_v10_ops"
    # the newest month is what the bucket lists; after it, nothing is published yet
    assert src.published_months(s)[-1] == "2025-06"
    with pytest.raises(MissingFileError, match="newest month in the bucket is 2025-06"):
        src.list_month(s, "2025-07", ["global"])


def test_the_stand_in_lists_as_moto_s3_does(len_tree, tmp_path):
    """The same keys in moto's S3 and in the stand-in give the same parsed listings, with
    and without a delimiter (moto is an independent implementation of the API)."""
    import requests
    from s3server import S3Server

    keys = sorted(p.relative_to(len_tree).as_posix() for p in len_tree.rglob("*.tif"))[:6]
    root = tmp_path / "bucket"
    for k in keys:
        (root / k).parent.mkdir(parents=True, exist_ok=True)
        (root / k).write_bytes(k.encode())
    moto = S3Server(tmp_path / "moto.log")
    try:
        moto.client.create_bucket(Bucket="globalnightlight")
        for k in keys:
            moto.client.put_object(Bucket="globalnightlight", Key=k, Body=k.encode())
        with S3BucketServer(root) as ours:
            for query in (
                "list-type=2&prefix=composites/npp_2014",
                "list-type=2&prefix=composites/npp_&delimiter=/",
                "prefix=composites/&delimiter=/",
            ):
                a = parse_listing(requests.get(f"{moto.url}/globalnightlight?{query}").content)
                b = parse_listing(requests.get(f"{ours.url}/?{query}").content)
                strip = lambda r: ([(o["key"], o["size"], o["etag"]) for o in r[0]], r[1])  # noqa: E731
                assert strip(a) == strip(b), query
    finally:
        moto.stop()


def test_a_listing_spans_pages(len_server):
    src = len_source(len_server)
    len_server.reset_log()
    months = src.published_months(make_session())
    assert months == sorted(set(MONTHS) - {"2014-03"})
    pages = [r for r in len_server.requests if r[1] == "/"]
    assert len(pages) >= 2  # four prefixes a page


# ---------------------------------------------------------------- reading


def test_window_reads_fetch_a_sliver_and_equal_the_whole_file(len_server, tmp_path):
    src, s = len_source(len_server, read="window"), make_session()
    man = src.list_month(s, "2025-06", ["global"])
    g = man.granules[0]
    window = Window(1200, 300, 40, 30)
    len_server.reset_log()
    with src.open(g, None, s) as bands:
        remote = {b.kind: b.read(window) for b in bands}
    time.sleep(0.1)
    sent = len_server.bytes_sent
    whole = sum(p.size for p in g.parts)
    assert sent < whole / 10, (sent, whole)
    for p in g.parts:
        (tmp_path / p.name).write_bytes((len_server.tree / p.url.split("/", 3)[3]).read_bytes())
    local = g.__class__(**{**g.__dict__, "read": "download"})
    with src.open(local, tmp_path, None) as bands:
        for b in bands:
            np.testing.assert_array_equal(b.read(window), remote[b.kind])


def test_auto_takes_the_fewer_bytes_and_says_when_that_is_whole_files(len_server, monkeypatch):
    """``len.read: auto`` compares the blocks the zones need (plus the header and a cost
    per request) with the whole files, and downloads (said in a note) when that is
    cheaper. A COG's full-resolution blocks cost less than the file with its overviews,
    so even zones over the whole file read by window; only a high cost per request
    (here set so) makes the whole files cheaper."""
    import geopandas as gpd
    from shapely.geometry import box

    from sezlights import index
    from sezlights.sources import lighteverynight as lensrc

    src, s = len_source(len_server, read="auto"), make_session()
    tiles = src.grid.tiles

    def listed(geom):
        zs = gpd.GeoDataFrame({"zone_id": ["z"]}, geometry=[geom], crs=4326)
        return src.list_month(s, "2025-06", ["global"], index=index.build_index(zs, tiles))

    (g,) = listed(box(36.8, -1.3, 36.9, -1.2)).granules  # a small zone near Nairobi
    assert g.read == "window" and g.bytes_window < g.bytes_download / 10
    everywhere = box(-179.9, -64.9, 179.9, 74.9)
    (g,) = listed(everywhere).granules
    assert g.read == "window" and 0 < g.bytes_window < g.bytes_download
    monkeypatch.setattr(lensrc, "REQUEST_BYTES", g.bytes_download)
    most = listed(everywhere)
    (g,) = most.granules
    assert g.read == "download" and g.bytes_window > g.bytes_download
    assert any("downloading is cheaper" in n for n in most.notes), most.notes


def test_a_body_cut_mid_block_and_503s_are_tried_again(len_server):
    src, s = len_source(len_server, read="window"), make_session()
    g = src.list_month(s, "2025-06", ["global"]).granules[0]
    window = Window(1200, 300, 40, 30)
    with src.open(g, None, s) as bands:
        want = {b.kind: b.read(window) for b in bands}
    len_server.add_faults("avg_rade9", "cut", "503", "503")
    with src.open(g, None, s) as bands:
        got = {b.kind: b.read(window) for b in bands}
    for k in want:
        np.testing.assert_array_equal(got[k], want[k])


def test_a_file_replaced_after_its_listing_is_never_read_in_part(len_server):
    src, s = len_source(len_server, read="window"), make_session()
    g = src.list_month(s, "2025-06", ["global"]).granules[0]
    path = len_server.tree / g.parts[0].url.split("/", 3)[3]
    data = path.read_bytes()
    path.write_bytes(data)  # the same bytes, written anew: the ETag (MD5) is the same
    os.utime(path, (time.time() + 5, time.time() + 5))
    with src.open(g, None, s) as bands:
        bands[0].read(Window(0, 0, 10, 10))
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # republished: another ETag
    with pytest.raises(ChangedFileError, match="changed on the server"):
        with src.open(g, None, s) as bands:
            bands[0].read(Window(0, 0, 10, 10))


# ---------------------------------------------------------------- workflow


def check_against_oracle(table, stray_light="slexcl"):
    z = zones()
    for month, rows in table.groupby("month"):
        rad, ncf, lat = len_globe(month, stray_light)
        for _, row in rows.iterrows():
            ref = oracle(z.geometry[row.zone_id], rad, ncf, lat)
            assert row["quality"] == ref.pop("quality"), (month, row.zone_id)
            for k, v in ref.items():
                assert row[k] == approx(k, v), (month, row.zone_id, k)


@workflow
def test_window_and_whole_file_runs_give_the_same_table(len_server, tmp_path):
    tables, sent = {}, {}
    for read in ("window", "download"):
        work = workflow_dir(
            tmp_path / read,
            sources=["len"],
            len={"base_url": len_server.url, "read": read, "pixel_arcsec": 600},
        )
        set_months(work, "2017-03", "2017-04")
        len_server.reset_log()
        snakemake(work, "results/zonal_stats.csv")
        time.sleep(0.1)
        sent[read] = len_server.bytes_sent
        tables[read] = read_table(work / "results/zonal_stats.csv")
        manifest = json.loads((work / "results/manifests/len/2017-04.json").read_text())
        assert {g["read"] for g in manifest["granules"]} == {read}
    assert tables["window"].equals(tables["download"])
    assert sent["window"] < sent["download"] / 5, sent
    t = tables["window"]
    assert set(zip(t.month, t["product"], strict=True)) == {
        ("2017-03", "vcm-slexcl_v10_rp2"),
        ("2017-04", "vcm-slexcl_v10_ops"),
    }
    check_against_oracle(t)


@workflow
def test_gaps_and_a_month_without_n_cf_are_unobserved_rows_with_a_note(len_server, tmp_path):
    work = workflow_dir(
        tmp_path, sources=["len"], len={"base_url": len_server.url, "pixel_arcsec": 600}
    )
    set_months(work, "2014-02", "2014-03")
    p = snakemake(work, "results/zonal_stats.csv")
    t = read_table(work / "results/zonal_stats.csv")
    gap = t[t.month == "2014-03"]
    assert len(gap) == 6 and (gap.pixels_observed == 0).all()
    assert "a gap in Light Every Night" in p.stdout + p.stderr
    check_against_oracle(t[t.month == "2014-02"])


@workflow
def test_a_replaced_file_reruns_its_month_only(len_server, tmp_path):
    work = workflow_dir(
        tmp_path,
        sources=["len"],
        listings={"refresh": "always"},
        len={"base_url": len_server.url, "pixel_arcsec": 600, "read": "window"},
    )
    set_months(work, "2024-10", "2025-06")
    snakemake(work, "results/zonal_stats.csv")
    before = {
        m: (work / f"results/stats/len/{m}.csv").stat().st_mtime_ns for m in ("2024-10", "2025-06")
    }
    key = next(len_server.tree.rglob("DNB_npp_20250601-*slexcl*.avg_rade9.tif"))
    data = key.read_bytes()
    key.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # republished (another ETag)
    snakemake(work, "results/zonal_stats.csv")
    after = {m: (work / f"results/stats/len/{m}.csv").stat().st_mtime_ns for m in before}
    assert after["2024-10"] == before["2024-10"]
    assert after["2025-06"] != before["2025-06"]


@workflow
def test_a_file_replaced_between_listing_and_reading_stops_with_one_line(len_server, tmp_path):
    work = workflow_dir(
        tmp_path,
        sources=["len"],
        len={"base_url": len_server.url, "pixel_arcsec": 600, "read": "window"},
    )
    set_months(work, "2025-06", "2025-06")
    snakemake(work, "results/manifests/len/2025-06.json")
    key = next(len_server.tree.rglob("DNB_npp_20250601-*slexcl*.n_cf.tif"))
    data = key.read_bytes()
    key.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    p = snakemake(work, "results/zonal_stats.csv", check=False)
    assert p.returncode != 0
    assert "changed on the server after its month was listed" in last_line(p)
    assert "run again" in last_line(p)
    snakemake(work, "results/zonal_stats.csv")  # listed anew, read anew
    check_against_oracle(read_table(work / "results/zonal_stats.csv"))


@workflow
def test_latest_is_the_newest_month_in_the_bucket(len_server, tmp_path):
    work = workflow_dir(
        tmp_path, sources=["len"], len={"base_url": len_server.url, "pixel_arcsec": 600}
    )
    set_months(work, "2025-01", "latest")
    snakemake(work, "results/zonal_stats.csv")
    plan = json.loads((work / "results/plan/latest_month.json").read_text())
    assert plan["month"] == "2025-06"


def test_whole_files_where_jobs_may_not_reach_the_internet(len_server):
    """download.local: true (compute nodes offline): the listing reads whole, and says so."""
    src, s = len_source(len_server), make_session()
    src.window_reads = "none"
    index = {"row": np.array([300]), "col": np.array([1200]), "length": np.array([3])}
    m = src.list_month(s, "2025-06", ["global"], index=index)
    assert [g.read for g in m.granules] == ["download"]
    assert "may not reach the internet" in m.notes[0]
    src.window_reads = "anonymous"  # AWS Batch: a public bucket needs no credential
    assert [g.read for g in src.list_month(s, "2025-06", ["global"], index=index).granules] == [
        "window"
    ]
