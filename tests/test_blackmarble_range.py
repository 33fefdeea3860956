"""Black Marble read by range: h5py over ranged GETs (through the signed addresses of the
Earthdata Cloud stand-in), only the chunks, or rows, holding zone pixels; whole files
where the file's own layout makes that no cheaper (one chunk per dataset) or the server
does not answer ranges. Real files' chunking is not known, so each layout is served."""

from __future__ import annotations

import json
import time

import pytest
from helpers import (
    EARTHDATA_TOKEN,
    REPO,
    blackmarble_globe,
    check_against_oracle,
    read_table,
    set_months,
    snakemake,
)
from helpers import workflow_dir as make_work
from sezlights_standin import blackmarble_tiles as bmt
from sezlights_standin.earthdata import EarthdataServer

from sezlights.zones import load_zones

workflow = pytest.mark.workflow
MONTH = "2019-01"
# finer pixels than the other tests' (a file must be larger than its metadata for a read
# by range to pay): at 2' a tile is 300 x 300; 60 gives 5 x 5 chunks, 600 (the stand-in's
# default) one chunk per dataset, None contiguous datasets
PIXEL_ARCSEC = 120
TILES = ["h21v08", "h21v09"]  # Kenya, Uganda, Ethiopia
LAYOUTS = {"chunked": 60, "one_chunk": 600, "contiguous": None}


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    out = {}
    for name, chunk in LAYOUTS.items():
        root = tmp_path_factory.mktemp(f"bm-{name}")
        bmt.make_tree(root, MONTH, MONTH, PIXEL_ARCSEC, tiles=TILES, products=["VNP46A3"],
                      chunk=chunk)  # fmt: skip
        out[name] = root
    return out


def served(root):
    srv = EarthdataServer(root)
    srv.users[EARTHDATA_TOKEN] = {"uid": "alice", "approved": True, "eula": True, "exp": None}
    return srv


def run(tmp_path, srv, read):
    work = make_work(tmp_path / read, laads_server=srv, sources=["blackmarble"],
                     blackmarble={"products": ["VNP46A3"], "read": read,
                                  "pixel_arcsec": PIXEL_ARCSEC})  # fmt: skip
    set_months(work, MONTH, MONTH)
    srv.reset_log()
    p = snakemake(work, "results/zonal_stats.csv")
    time.sleep(0.1)
    manifest = json.loads((work / f"results/manifests/blackmarble/{MONTH}.json").read_text())
    return read_table(work / "results/zonal_stats.csv"), srv.bytes_sent, manifest, p


@workflow
@pytest.mark.parametrize("layout", ["chunked", "contiguous"])
def test_reads_by_range_equal_whole_files_for_a_fraction_of_the_bytes(trees, layout, tmp_path):
    with served(trees[layout]) as srv:
        whole, whole_bytes, m_whole, _ = run(tmp_path, srv, "download")
        auto, auto_bytes, m_auto, _ = run(tmp_path, srv, "auto")
    assert {g["read"] for g in m_whole["granules"]} == {"download"}
    assert {g["read"] for g in m_auto["granules"]} == {"window"}
    assert auto.equals(whole)
    assert auto_bytes < whole_bytes / 2, (auto_bytes, whole_bytes)
    for g in m_auto["granules"]:
        assert 0 < g["bytes_window"] < g["bytes_download"]
    assert srv.signed_auth and set(srv.signed_auth) == {None}  # no token at the signed host


@workflow
def test_one_chunk_per_dataset_still_fetches_only_the_datasets_read(trees, tmp_path):
    """A file holds a dozen datasets and the statistics read three: even unchunked, a read
    by range fetches those three only (real files' layout decides, not a rule)."""
    with served(trees["one_chunk"]) as srv:
        table, sent, manifest, _ = run(tmp_path, srv, "auto")
    sizes = {g["parts"][0]["name"]: g["bytes_download"] for g in manifest["granules"]}
    assert {g["read"] for g in manifest["granules"]} == {"window"}
    assert sent < sum(sizes.values()) / 2
    assert len(table) == 6
    # and the numbers are those of the whole files, read back with h5py alone
    rad, cvg, covered, lat = blackmarble_globe(
        MONTH, TILES, pixel=PIXEL_ARCSEC / 3600, files=trees["one_chunk"]
    )
    zones = load_zones(REPO / "config/zones/demo_zones.geojson", "zone_id")
    check_against_oracle(table, zones, {MONTH: (rad, cvg, lat)}, covered=covered)


@workflow
def test_a_server_without_ranges_gets_whole_files_said_once_per_file(trees, tmp_path):
    with served(trees["chunked"]) as srv:
        srv.ranges = False
        table, _, manifest, p = run(tmp_path, srv, "auto")
    assert {g["read"] for g in manifest["granules"]} == {"download"}
    assert sum("does not answer ranged requests" in n for n in manifest["notes"]) == len(TILES)
    assert "does not answer ranged requests" in p.stdout + p.stderr
    assert len(table) == 6


def test_no_token_goes_to_jobs_that_run_elsewhere(trees):
    """On AWS Batch (download.local: auto) only anonymous sources are read by window: a
    Black Marble statistics job would need the token."""
    import numpy as np

    from sezlights import sources

    with served(trees["chunked"]) as srv:
        src = sources.make(
            "blackmarble",
            {"products": ["VNP46A3"], "pixel_arcsec": PIXEL_ARCSEC, "endpoint": "cloud",
             "cmr_url": srv.cmr_url, "cloud_url": srv.cloud_url},
        )  # fmt: skip
        session = src.session({"EARTHDATA_TOKEN": EARTHDATA_TOKEN})
        w = src.tiles.window("h21v08")
        index = {
            "row": np.array([int(w.row_off) + 5]),
            "col": np.array([int(w.col_off) + 5]),
            "length": np.array([2]),
        }
        src.window_reads = "anonymous"
        m = src.list_month(session, MONTH, ["h21v08"], index=index)
        assert [g.read for g in m.granules] == ["download"]
        assert m.notes == ["files read whole: the jobs run where no credential may go "
                           "(download.local: auto)"]  # fmt: skip
        src.window_reads = "all"
        m = src.list_month(session, MONTH, ["h21v08"], index=index)
        assert [g.read for g in m.granules] == ["window"]


def test_a_file_replaced_after_its_listing_is_never_read_in_part(trees, tmp_path):
    """Reads by range carry the identity the listing recorded (here the ETag) on every
    request, through the signed addresses: a file replaced on the server under the same
    name and size answers 412 and the read stops as changed (the stats job then marks
    the month's listing stale), never mixing chunks of two files."""
    import os

    import numpy as np

    from sezlights import sources, zonal
    from sezlights.errors import ChangedFileError

    root = tmp_path / "tree"
    bmt.make_tree(root, MONTH, MONTH, PIXEL_ARCSEC, tiles=TILES[:1], products=["VNP46A3"],
                  chunk=60)  # fmt: skip
    with served(root) as srv:
        src = sources.make(
            "blackmarble",
            {"products": ["VNP46A3"], "pixel_arcsec": PIXEL_ARCSEC, "endpoint": "cloud",
             "cmr_url": srv.cmr_url, "cloud_url": srv.cloud_url, "read": "window"},
        )  # fmt: skip
        session = src.session({"EARTHDATA_TOKEN": EARTHDATA_TOKEN})
        w = src.tiles.window(TILES[0])
        index = {
            "row": np.array([int(w.row_off) + 5, int(w.row_off) + 200]),
            "col": np.array([int(w.col_off) + 5, int(w.col_off) + 200]),
            "length": np.array([2, 3]),
        }
        granules = src.list_month(session, MONTH, TILES[:1], index=index).granules
        part = granules[0].parts[0]
        assert [g.read for g in granules] == ["window"] and part.etag
        before = zonal.gather(index, granules, src, None, session)
        assert before["covered"].all()
        path = next(root.rglob(part.name))
        data = bytearray(path.read_bytes())
        data[-1] ^= 1  # republished under the same name and size
        path.write_bytes(bytes(data))
        os.utime(path, (time.time() + 5, time.time() + 5))
        srv.reset_log()
        with pytest.raises(ChangedFileError, match="changed on the server after its month"):
            zonal.gather(index, granules, src, None, session)
        assert 412 in [r[2] for r in srv.requests]
