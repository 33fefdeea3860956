"""NASA Black Marble VNP46A3 as a second source, in the same table as EOG.

Real runs against the local LAADS stand-in (HDF-EOS5 files with the real group,
dataset names and attributes at 10' pixels, CSV month listings, Earthdata bearer
token, redirect to Earthdata Login for a bad one).
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import geopandas as gpd
import h5py
import numpy as np
import pytest
import yaml
from helpers import (
    BM_TILES,
    EARTHDATA_TOKEN,
    PIXEL_ARCSEC,
    REPO,
    approx,
    blackmarble_globe,
    eog_globe,
    files_containing,
    last_line,
    make_config,
    oracle,
    read_table,
    set_months,
    snakemake,
    workflow_dir,
)
from shapely.geometry import box

from sezlights import index, sources, zonal
from sezlights.errors import UserError
from sezlights.standin import blackmarble_tiles as bmt
from sezlights.standin.laads import LAADSServer
from sezlights.zones import load_zones

workflow = pytest.mark.workflow  # real Snakemake runs; the rest are fast unit checks


@pytest.fixture
def both(eog_server, laads_server, tmp_path):
    work = workflow_dir(tmp_path, eog_server, laads_server, source={"name": ["eog", "blackmarble"]})
    cfg = yaml.safe_load((work / "config/test.yaml").read_text())
    cfg["months"] = {"start": "2019-01", "end": "2019-02"}
    (work / "config/test.yaml").write_text(yaml.safe_dump(cfg))
    return work


@workflow
def test_both_sources_in_one_table_each_matching_its_own_oracle(both, laads_server):
    snakemake(both, "results/zonal_stats.csv")
    table = read_table(both / "results/zonal_stats.csv")
    assert sorted(table.source.unique()) == ["blackmarble", "eog"]
    assert len(table) == 6 * 2 * 2  # zones x months x sources: one row each
    assert not table.duplicated(["zone_id", "month", "source"]).any()
    zones = load_zones(REPO / "config/zones/demo_zones.geojson", "zone_id").set_index("zone_id")
    for (source, month), rows in table.groupby(["source", "month"]):
        if source == "eog":
            rad, cvg, lat = eog_globe(month)
            covered = None
        else:
            rad, cvg, covered, lat = blackmarble_globe(month, BM_TILES, files=laads_server.tree)
        for _, row in rows.iterrows():
            ref = oracle(zones.geometry[row.zone_id], rad, cvg, lat, covered=covered)
            assert row["quality"] == ref.pop("quality"), (source, month, row.zone_id)
            for k, v in ref.items():
                assert row[k] == approx(k, v), (source, row.zone_id, k)
    # only the tiles some zone touches were downloaded from LAADS
    got = {p.split(".")[2] for p in laads_server.file_gets()}
    assert got and got <= set(BM_TILES) and len(got) < len(BM_TILES)
    bm = [m for m in (both / "results/manifests/blackmarble").glob("*.json")]
    manifest = yaml.safe_load(bm[0].read_text())
    assert manifest["collection"] == "5200" and manifest["satellite"] == "npp"
    assert files_containing(both, EARTHDATA_TOKEN) == []


@workflow
def test_no_earthdata_token_says_what_to_set(both):
    p = snakemake(both, check=False, drop=("EARTHDATA_TOKEN",))
    assert p.returncode != 0
    assert "no Earthdata token; set EARTHDATA_TOKEN" in last_line(p)


@workflow
def test_a_refused_earthdata_token_is_a_login_failure(both):
    p = snakemake(both, check=False, env={"EARTHDATA_TOKEN": "expired-token-123"})
    assert p.returncode != 0
    assert "LAADS refused EARTHDATA_TOKEN" in last_line(p)
    assert "expired-token-123" not in p.stdout + p.stderr


class CountingLAADS(LAADSServer):
    """The LAADS stand-in, counting how many files it sends at once (each takes 0.4 s)."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.now = self.most = 0
        self._count = threading.Lock()
        server = self

        class Handler(self.RequestHandlerClass):
            def serve_file(self, target, fault=None, ctype=None):
                with server._count:
                    server.now += 1
                    server.most = max(server.most, server.now)
                try:
                    time.sleep(0.4)
                    return super().serve_file(target, fault, ctype)
                finally:
                    with server._count:
                        server.now -= 1

        self.RequestHandlerClass = Handler


@workflow
@pytest.mark.parametrize("limit", [1, 2])
def test_laads_downloads_have_their_own_limit(eog_server, laads_tree, tmp_path, limit):
    """Every Black Marble download takes one `laads_downloads`, which each profile caps
    (public scripts report that LAADS stalls clients that open many connections): with
    4 cores and room for 4 EOG downloads, LAADS never sees more than the limit at once."""
    with CountingLAADS(laads_tree, token=EARTHDATA_TOKEN) as laads:
        work = workflow_dir(tmp_path, eog_server, laads, source={"name": "blackmarble"})
        set_months(work, "2019-01", "2019-01")
        snakemake(
            work, "--resources", f"laads_downloads={limit}", "downloads=4", "--cores", "4",
            "results/zonal_stats.csv", cores=None,
        )  # fmt: skip
        assert len(laads.file_gets()) >= 4
        assert laads.most == limit
    for profile in ("laptop", "slurm", "aws-batch"):
        text = (REPO / "profiles" / profile / "config.yaml").read_text()
        assert "laads_downloads" in text, profile


@workflow
def test_months_before_the_products_first_are_a_config_error(both):
    cfg = yaml.safe_load((both / "config/test.yaml").read_text())
    cfg["source"]["name"] = "blackmarble"
    cfg["months"] = {"start": "2011-12", "end": "2012-02"}
    (both / "config/test.yaml").write_text(yaml.safe_dump(cfg))
    p = snakemake(both, check=False)
    assert p.returncode != 0 and "before 2012-01" in last_line(p)


# ------------------------------------------------------------------ unit checks (no Snakemake)

GAP_MONTH = "2019-02"  # a cloudy month: the cloudy box over Coega (h20v12) is all gap filled
VAR = "NearNadir_Composite_Snow_Free"


def bm(min_cloud_free=1, **blackmarble):
    """The Black Marble source of a full config (``blackmarble`` keys replaced)."""
    cfg = make_config(blackmarble=blackmarble, stats={"min_cloud_free": min_cloud_free})
    return sources.get("blackmarble", cfg)


def all_rows(src, path, kind="radiance"):
    """Every row of one band of ``path`` as ``src.bands`` gives it."""
    bands = src.bands(path, (kind,))  # the file stays open while the generator lives
    band = next(bands)
    with h5py.File(path, "r") as f:
        n = f[bmt.DATA_FIELDS][VAR].shape[0]
    return np.stack([line for _, line in band.rows(np.arange(n))])


def zone_table(tmp_path, geoms: dict):
    path = tmp_path / "zones.geojson"
    gpd.GeoDataFrame({"id": list(geoms)}, geometry=list(geoms.values()), crs="EPSG:4326").to_file(
        path
    )
    return load_zones(path, "id")


def stats_of(zones, files, src, month=GAP_MONTH, min_cloud_free=1):
    idx = index.build_index(zones, src.tiles)
    values = zonal.gather(idx, files, src)
    df = zonal.reduce(idx, values, month, src.name, "npp", "coverage", min_cloud_free)
    return df.set_index("zone_id")


@pytest.fixture(scope="module")
def gap_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("bm-gap")
    return bmt.write_file(
        d / bmt.file_name(GAP_MONTH, "h20v12"), GAP_MONTH, "h20v12", PIXEL_ARCSEC / 3600
    )


@pytest.mark.parametrize(
    ("quality", "min_cloud_free"), [((0,), 1), ((0, 1, 2), 1), ((0, 1, 2), 3), ((2,), 2)]
)
def test_accepted_gap_filled_pixels_count_as_observed(gap_file, tmp_path, quality, min_cloud_free):
    """Quality 2 pixels have _Num 0 (their value is a gap fill from earlier months): with
    class 2 accepted they count as observed whatever stats.min_cloud_free says, and
    their cloud-free count reads as that threshold; with it rejected they never count."""
    with h5py.File(gap_file, "r") as f:  # the file really is all gap filled there
        q = f[bmt.DATA_FIELDS][VAR + "_Quality"][:]
        n = f[bmt.DATA_FIELDS][VAR + "_Num"][:]
    assert (q == 2).any() and (n[q == 2] == 0).all()
    zones = zone_table(
        tmp_path,
        {
            "gap-filled": box(25.4, -34.0, 25.9, -33.6),  # inside the cloudy box
            "mixed": box(25.7, -34.1, 26.4, -33.2),  # partly gap filled
            "observed": box(26.3, -33.9, 26.9, -33.5),  # east of the box: observed pixels
        },
    )
    src = bm(quality=list(quality), min_cloud_free=min_cloud_free)
    df = stats_of(zones, [gap_file], src, min_cloud_free=min_cloud_free)
    rad, num, covered, lat = blackmarble_globe(
        GAP_MONTH, ["h20v12"], quality=quality, files=[gap_file], min_cloud_free=min_cloud_free
    )
    for zid, geom in zip(zones.zone_id, zones.geometry, strict=True):
        ref = oracle(geom, rad, num, lat, covered=covered, min_cloud_free=min_cloud_free)
        assert df.loc[zid, "quality"] == ref.pop("quality"), zid
        for k, v in ref.items():
            assert df.loc[zid, k] == pytest.approx(v, rel=1e-4, abs=1e-9), (zid, k)
    gap = df.loc["gap-filled"]
    if 2 in quality:
        assert gap["quality"] == "ok" and gap["observed_share"] == 1
        assert gap["mean"] > 0 and gap["cf_cvg_min"] == min_cloud_free
    else:
        assert gap["quality"] == "no_cloud_free" and np.isnan(gap["mean"])


def test_coverage_band_reports_an_accepted_gap_filled_pixel_as_passing(gap_file):
    with h5py.File(gap_file, "r") as f:
        q = f[bmt.DATA_FIELDS][VAR + "_Quality"][:]
        n = f[bmt.DATA_FIELDS][VAR + "_Num"][:].astype(np.float32)
    for quality, min_cloud_free in (((0,), 4), ((0, 1, 2), 1), ((0, 1, 2), 4)):
        src = bm(quality=list(quality), min_cloud_free=min_cloud_free)
        got = all_rows(src, gap_file, "coverage")
        expect = n.copy()  # _Num as it is (0 on fill and gap-filled pixels) ...
        if 2 in quality:  # ... but an accepted gap-filled pixel passes the count rule
            expect[q == 2] = min_cloud_free
        np.testing.assert_array_equal(got, expect)


def recent_months(k: int) -> list[str]:
    """The ``k`` months before the current one, oldest first (latest looks back from now)."""
    today = dt.date.today()
    i = today.year * 12 + today.month - 1
    return [f"{(i - j) // 12:04d}-{(i - j) % 12 + 1:02d}" for j in range(k, 0, -1)]


def test_latest_month_needs_every_needed_tile_listed_in_the_collection(tmp_path):
    """A month counts as latest only when its listing names every needed tile as a file
    of that month in the configured collection (the filter list_month applies)."""
    old, mid, new = recent_months(3)
    tiles = ["h21v09", "h20v12"]
    bmt.make_tree(tmp_path, old, new, 3600, tiles=["h21v09"])
    bmt.make_tree(tmp_path, old, old, 3600, tiles=["h20v12"])
    folder = tmp_path / bmt.month_folder(mid)
    y, doy = mid[:4], bmt.doy(mid)
    for name in (  # h20v12 in mid, but none of them a file of mid in collection 5200
        f"VNP46A3.A{y}{doy}.h20v12.001.2025133000000.h5",  # Collection 1's version
        f"VNP46A3.A{y}{bmt.doy(old)}.h20v12.002.2025133000000.h5",  # another month's day
        f"VNP46A3.A{int(y) - 1}{doy}.h20v12.002.2025133000000.h5",  # another year
    ):
        (folder / name).write_bytes(b"")
    with LAADSServer(tmp_path, token=EARTHDATA_TOKEN) as laads:
        src = bm(base_url=f"{laads.url}/archive/allData", pixel_arcsec=3600)
        session = src.session({"EARTHDATA_TOKEN": EARTHDATA_TOKEN})
        month, skipped = src.latest_month(session, tiles, "2012-01")
        assert month == old
        # the current month is not published; the two after `old` lack h20v12
        assert [line.split(":")[0] for line in skipped][1:] == [f"skipped {new}", f"skipped {mid}"]
        assert "not published yet" in skipped[0] and len(skipped) == 3
        assert all("h20v12 not listed" in line for line in skipped[1:]), skipped
        assert src.list_month(session, mid, tiles)["tiles_absent"] == ["h20v12"]
        # a month listing every needed tile is latest, whatever other tiles it lacks
        assert src.latest_month(session, ["h21v09"], "2012-01")[0] == new
        with pytest.raises(UserError, match="set months.end to a month instead of latest"):
            src.latest_month(session, ["h21v09", "h00v00"], "2012-01")


def test_listings_that_need_the_token_get_it(tmp_path):
    """LAADS may now want the token on month listings too (blackmarbler #25): the client
    sends it with every listing, so such a listing works."""
    bmt.make_tree(tmp_path, "2019-01", "2019-01", 3600, tiles=["h21v09"])
    with LAADSServer(tmp_path, token=EARTHDATA_TOKEN, listings_need_token=True) as laads:
        src = bm(base_url=f"{laads.url}/archive/allData", pixel_arcsec=3600)
        session = src.session({"EARTHDATA_TOKEN": EARTHDATA_TOKEN})
        m = src.list_month(session, "2019-01", ["h21v09"])
        assert [f["tile"] for f in m["files"]] == ["h21v09"]
        assert laads.listing_auth == [f"Bearer {EARTHDATA_TOKEN}"]


def test_the_radiance_offset_is_read_from_an_offset_attribute(tmp_path):
    """The newest blackmarblepy reads the offset from ``offset`` (not ``add_offset``)."""
    path = bmt.write_file(
        tmp_path / bmt.file_name("2019-01", "h21v09"),
        "2019-01",
        "h21v09",
        PIXEL_ARCSEC / 3600,
        offset_attr="offset",
    )
    with h5py.File(path, "r+") as f:
        rad = f[bmt.DATA_FIELDS][VAR]
        assert "add_offset" not in rad.attrs and rad.attrs["offset"] == 0.0
        rad.attrs["offset"] = 0.25
        rad.attrs["scale_factor"] = 2.0
        raw = rad[:]
        q = f[bmt.DATA_FIELDS][VAR + "_Quality"][:]
    expect = (raw.astype(np.float64) * 2.0 + 0.25).astype(np.float32)
    expect[(q != 0) | (raw == np.float32(-999.9))] = np.nan
    np.testing.assert_allclose(all_rows(bm(), path), expect, rtol=1e-6)
    assert np.isfinite(expect).any()


@pytest.mark.parametrize("attributes", ["in the file", "missing"])
def test_collection_1_decodes_tenths_and_its_fill(tmp_path, attributes):
    """Collection 1 (5000, ``.001.``): radiance as uint16 tenths of nW/cm2/sr, fill
    65535, read through BlackMarble.bands; without the attributes the reader falls back
    to the collection's scale 0.1 and fill 65535."""
    month, tile = GAP_MONTH, "h20v12"
    bmt.make_tree(tmp_path, month, month, PIXEL_ARCSEC, tiles=[tile], collection="5000")
    with LAADSServer(tmp_path, token=EARTHDATA_TOKEN) as laads:
        src = bm(base_url=f"{laads.url}/archive/allData", collection="5000", quality=[0, 1])
        session = src.session({"EARTHDATA_TOKEN": EARTHDATA_TOKEN})
        entry = src.list_month(session, month, [tile])["files"][0]
        path = src.download(session, entry, tmp_path / "dl" / entry["name"])
    assert ".001." in path.name and "/5000/VNP46A3/" in entry["url"]
    with h5py.File(path, "r+") as f:
        rad = f[bmt.DATA_FIELDS][VAR]
        assert rad.dtype == np.uint16
        if attributes == "missing":
            for key in ("_FillValue", "scale_factor", "add_offset"):
                del rad.attrs[key]
        raw = rad[:]
        q = f[bmt.DATA_FIELDS][VAR + "_Quality"][:]
    expect = raw.astype(np.float64) * 0.1
    expect[(raw == 65535) | ~np.isin(q, [0, 1])] = np.nan
    assert (raw == 65535).any() and (raw[raw != 65535] > 0).any()
    got = all_rows(src, path)
    np.testing.assert_allclose(got, expect, rtol=1e-6)
    # and the same numbers as the Collection 2 file of that month, to a tenth
    c2 = bmt.tile_arrays(month, tile, PIXEL_ARCSEC / 3600)[VAR]
    ok = np.isfinite(expect)
    np.testing.assert_allclose(got[ok], c2[ok], atol=0.051)
