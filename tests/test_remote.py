"""sezlights.remote against a real HTTP server: GDAL window reads of a COG and h5py over
ranged GETs, with the server's faults (a body cut mid-block, 503s, refusals)."""

from __future__ import annotations

import time

import h5py
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from rasterio.windows import Window
from sezlights_standin.httpserver import StandinServer

from sezlights.download import Target
from sezlights.errors import DownloadError, LoginError
from sezlights.http import Budget, child_session, make_session
from sezlights.remote import NoRangeSupport, RangeFile, RemoteTiff, opened_hdf5, probe

ARR = np.random.default_rng(0).random((1024, 2048), dtype=np.float32)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("remote")
    with rasterio.open(
        root / "a.tif", "w", driver="COG", width=2048, height=1024, count=1, dtype="float32",
        crs="EPSG:4326", transform=from_origin(-180, 75, 0.1, 0.1), compress="LZW",
        blocksize=256,
    ) as ds:  # fmt: skip
        ds.write(ARR, 1)
    with h5py.File(root / "b.h5", "w") as f:
        f.create_dataset("x", data=ARR, chunks=(128, 128), compression="gzip")
    return root


@pytest.fixture
def server(files):
    with StandinServer(files) as srv:
        yield srv


def sent(srv) -> int:
    time.sleep(0.05)  # the server counts a body once it is written
    return srv.bytes_sent


def test_a_window_costs_its_blocks_not_the_file(server, files):
    with RemoteTiff(f"{server.url}/a.tif", "a.tif") as tif:
        got = tif.read(Window(300, 300, 100, 50))
        assert tif.block_shape == (256, 256)
    np.testing.assert_array_equal(got, ARR[300:350, 300:400])
    assert sent(server) < (files / "a.tif").stat().st_size / 10


def test_a_cut_body_and_503s_are_tried_again(server):
    server.add_faults("a.tif", "cut", "503", "503")
    with RemoteTiff(f"{server.url}/a.tif", "a.tif", budget=Budget(60, 10)) as tif:
        got = tif.read(Window(1500, 700, 100, 50))
    np.testing.assert_array_equal(got, ARR[700:750, 1500:1600])


def test_probe_tells_size_and_identity_or_that_ranges_are_ignored(server, files):
    ident = probe(make_session(), f"{server.url}/a.tif", 10)
    assert ident.size == (files / "a.tif").stat().st_size and ident.etag and ident.modified
    server.ranges = False
    with pytest.raises(NoRangeSupport):
        probe(make_session(), f"{server.url}/a.tif", 10)


def range_file(server, budget=None):
    target = Target(make_session(), f"{server.url}/b.h5")
    return RangeFile(target, "b.h5", budget or Budget(60, 10))


def test_hdf5_by_range_reads_only_the_chunks_it_needs(server, files):
    rf = range_file(server)
    with opened_hdf5(rf) as f:
        got = f["x"][500:520, 1000:1100]
    np.testing.assert_array_equal(got, ARR[500:520, 1000:1100])
    assert rf.fetched == sent(server) < (files / "b.h5").stat().st_size / 4


def test_hdf5_by_range_survives_a_cut_body_and_503s(server):
    rf = range_file(server)
    server.add_faults("b.h5", "cut", "503")
    with opened_hdf5(rf) as f:
        np.testing.assert_array_equal(f["x"][0:10, 0:10], ARR[0:10, 0:10])


def test_hdf5_by_range_gives_up_within_its_budget(server):
    budget = Budget(4, 20)  # urllib3's retries draw on it too (a child session)
    rf = RangeFile(Target(child_session(make_session(), budget), f"{server.url}/b.h5"), "b.h5",
                   budget, size=(server.root / "b.h5").stat().st_size)  # fmt: skip
    server.add_faults("b.h5", *["503"] * 100)
    with pytest.raises(DownloadError, match="gave up reading b.h5 by range"):
        with opened_hdf5(rf) as f:
            f["x"][900:910, 2000:2010]


def test_a_refusal_renews_the_token_once_then_says_so(server):
    class Session(type(make_session())):
        renewed = 0

        def renew(self):
            self.renewed += 1

    s = make_session(Session())
    rf = RangeFile(Target(s, f"{server.url}/b.h5"), "b.h5", Budget(60, 10))
    server.add_faults("b.h5", "401")
    with opened_hdf5(rf) as f:
        f["x"][0:2, 0:2]
    assert s.renewed == 1
    rf = RangeFile(Target(s, f"{server.url}/b.h5"), "b.h5", Budget(60, 10), size=rf.size)
    server.add_faults("b.h5", "401", "401")
    with pytest.raises(LoginError, match="refuses b.h5 although the login succeeded"):
        with opened_hdf5(rf) as f:
            f["x"][800:802, 0:2]
