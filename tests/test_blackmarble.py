"""NASA Black Marble: VNP46A3 (Suomi NPP, to 2026-10) and VJ146A3 (NOAA-20, from 2018-01)
as one source, beside EOG in the same table.

Real runs against the local stand-ins: CMR's granule search and LAADS's Earthdata Cloud
host with its 303 to signed URLs on another host (the default endpoint), and LAADS's
ladsweb archive (CSV month listings, redirect to Earthdata Login for a bad token). The
files are HDF-EOS5 with the real group, dataset names and attributes at 10' pixels.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import geopandas as gpd
import h5py
import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import (
    BM_TILES,
    EARTHDATA_TOKEN,
    PIXEL_ARCSEC,
    REPO,
    approx,
    blackmarble_globe,
    blackmarble_urls,
    eog_globe,
    files_containing,
    last_line,
    make_config,
    make_site,
    oracle,
    read_table,
    set_months,
    snakemake,
    workflow_dir,
)
from sezlights_standin import blackmarble_tiles as bmt
from sezlights_standin.earthdata import EarthdataServer, make_token
from sezlights_standin.laads import LAADSServer
from shapely.geometry import box

from sezlights import sources
from sezlights.errors import LoginError, MissingFileError, UserError
from sezlights.zones import load_zones

workflow = pytest.mark.workflow  # real Snakemake runs; the rest are fast unit checks
PRODUCTS = {"npp": "VNP46A3", "j01": "VJ146A3"}


@pytest.fixture
def both(eog_server, earthdata_server, tmp_path):
    work = workflow_dir(tmp_path, eog_server, earthdata_server, sources=["eog", "blackmarble"])
    set_months(work, "2019-01", "2019-02")
    return work


def check_each_series(table, tree, zones, tiles=BM_TILES):
    """Every Black Marble row against the oracle of its own product's files."""
    for (month, satellite), rows in table.groupby(["month", "satellite"]):
        rad, cvg, covered, lat = blackmarble_globe(
            month, tiles, files=tree, product=PRODUCTS[satellite]
        )
        for _, row in rows.iterrows():
            ref = oracle(zones.geometry[row.zone_id], rad, cvg, lat, covered=covered)
            assert row["quality"] == ref.pop("quality"), (month, satellite, row.zone_id)
            for k, v in ref.items():
                assert row[k] == approx(k, v), (month, satellite, row.zone_id, k)


@workflow
def test_both_sources_in_one_table_each_matching_its_own_oracle(both, earthdata_server):
    snakemake(both, "results/zonal_stats.csv")
    table = read_table(both / "results/zonal_stats.csv")
    assert sorted(table.source.unique()) == ["blackmarble", "eog"]
    # zones x months x (EOG, Black Marble from Suomi NPP and from NOAA-20): one row each
    assert len(table) == 6 * 2 * 3
    assert not table.duplicated(["zone_id", "month", "source", "satellite"]).any()
    bm = table[table.source == "blackmarble"]
    assert set(zip(bm.satellite, bm["product"], strict=True)) == set(PRODUCTS.items())
    zones = load_zones(REPO / "config/zones/demo_zones.geojson", "zone_id").set_index("zone_id")
    check_each_series(bm, earthdata_server.tree, zones)
    for month, rows in table[table.source == "eog"].groupby("month"):
        rad, cvg, lat = eog_globe(month)
        for _, row in rows.iterrows():
            ref = oracle(zones.geometry[row.zone_id], rad, cvg, lat)
            assert row["quality"] == ref.pop("quality"), (month, row.zone_id)
            for k, v in ref.items():
                assert row[k] == approx(k, v), (row.zone_id, k)
    # only the tiles some zone touches were fetched, from signed addresses, never with
    # the token there
    got = {p.split(".")[2] for p in earthdata_server.file_gets()}
    assert got and got <= set(BM_TILES) and len(got) < len(BM_TILES)
    assert earthdata_server.signed_auth and set(earthdata_server.signed_auth) == {None}
    assert files_containing(both, EARTHDATA_TOKEN) == []
    manifest = json.loads((both / "results/manifests/blackmarble/2019-01.json").read_text())
    assert {(s["product"], s["satellite"]) for s in manifest["series"]} == {
        ("VNP46A3", "npp"),
        ("VJ146A3", "j01"),
    }


@pytest.fixture(scope="module")
def tree_2026(tmp_path_factory):
    """Both products for 2026-08..2026-12 (VNP46A3 ends 2026-10: Suomi NPP's delivery
    ceased on 2026-11-01), the demo zones' tiles."""
    root = tmp_path_factory.mktemp("laads-2026")
    bmt.make_tree(
        root, "2026-08", "2026-12", PIXEL_ARCSEC, tiles=BM_TILES, products=PRODUCTS.values()
    )
    return root


@workflow
def test_after_suomi_npp_noaa20_goes_on_and_latest_is_its_newest_month(tree_2026, tmp_path):
    """2026-08..2026-12 with the default products: npp rows through 2026-10, j01 rows for
    all five months, each matching its own oracle; `end: latest` is 2026-12, a NOAA-20
    month; the token never reached the signed-URL host."""
    with EarthdataServer(tree_2026) as cloud:
        cloud.users[EARTHDATA_TOKEN] = {"uid": "alice", "approved": True, "eula": True, "exp": None}
        work = workflow_dir(tmp_path, laads_server=cloud, sources=["blackmarble"])
        set_months(work, "2026-08", "latest")
        snakemake(work, "results/zonal_stats.csv")
        assert set(cloud.signed_auth) == {None} and cloud.file_gets()
    plan = json.loads((work / "results/plan/latest_month.json").read_text())
    assert plan["month"] == "2026-12"
    table = read_table(work / "results/zonal_stats.csv")
    months = table.groupby("satellite").month.agg(lambda m: sorted(set(m))).to_dict()
    assert months == {
        "npp": ["2026-08", "2026-09", "2026-10"],
        "j01": ["2026-08", "2026-09", "2026-10", "2026-11", "2026-12"],
    }
    zones = load_zones(REPO / "config/zones/demo_zones.geojson", "zone_id").set_index("zone_id")
    check_each_series(table, tree_2026, zones)


@workflow
def test_suomi_npp_alone_after_october_2026_is_a_config_error_naming_noaa20(both):
    set_months(both, "2026-09", "2026-12")
    cfg = yaml.safe_load((both / "config/test.yaml").read_text())
    cfg["sources"] = ["blackmarble"]
    cfg["blackmarble"]["products"] = ["VNP46A3"]
    (both / "config/test.yaml").write_text(yaml.safe_dump(cfg))
    p = snakemake(both, check=False)
    line = last_line(p)
    assert p.returncode != 0 and "after 2026-10" in line and "add VJ146A3 (NOAA-20" in line


@workflow
def test_no_earthdata_token_says_what_to_set(both):
    p = snakemake(both, check=False, drop=("EARTHDATA_TOKEN",))
    assert p.returncode != 0
    assert "no Earthdata token; set EARTHDATA_TOKEN" in last_line(p)


@workflow
@pytest.mark.parametrize(
    "token, message",
    [
        (make_token("alice", expires=1_600_000_000), "EARTHDATA_TOKEN expired at 2020-09-13"),
        ("not-a-jwt-token-123", "which is not an Earthdata token"),
        ("unapproved", "approve the 'LAADS Web' application"),
    ],
    ids=["expired", "refused", "unapproved"],
)
def test_each_refused_token_ends_with_its_own_line(both, earthdata_server, token, message):
    """An expired token (its own expiry, read at the start), a token LAADS refuses, and a
    user who has not approved the LAADS application each end the run with one line."""
    if token == "unapproved":
        token = earthdata_server.add_user("bob", approved=False)
    p = snakemake(both, check=False, env={"EARTHDATA_TOKEN": token})
    assert p.returncode != 0
    assert message in last_line(p), last_line(p)
    assert token not in p.stdout + p.stderr


@workflow
def test_a_granule_missing_from_cmr_ends_the_run_when_asked_to(both, earthdata_server):
    """blackmarble.absent_tiles: error: a needed tile CMR does not list for a month is one
    line naming it (by default its pixels count as not observed, with a warning)."""
    gone = next(earthdata_server.tree.rglob("VJ146A3.A2019032.h21v09.*.h5"))
    gone.unlink()
    earthdata_server.rescan()
    cfg = yaml.safe_load((both / "config/test.yaml").read_text())
    cfg["sources"] = ["blackmarble"]
    cfg["blackmarble"]["absent_tiles"] = "error"
    (both / "config/test.yaml").write_text(yaml.safe_dump(cfg))
    p = snakemake(both, check=False)
    line = last_line(p)
    assert p.returncode != 0
    assert "2019-02: granule(s) missing in CMR for tile(s) the zones need: h21v09 (VJ146A3)" in line


@workflow
def test_the_overlap_page_compares_the_satellites(tmp_path_factory, tmp_path):
    """2018-01..2018-06 with both products: the report's overlap page gives the scatter of
    NOAA-20 against Suomi NPP with the median ratio, and per zone the ratio and its spread
    (the synthetic NOAA-20 files read 0.93 x Suomi NPP's light, with their own noise)."""
    root = tmp_path_factory.mktemp("laads-2018")
    tiles = ["h21v08", "h21v09", "h22v08", "h23v06", "h24v06", "h24v07"]
    bmt.make_tree(root, "2018-01", "2018-06", PIXEL_ARCSEC, tiles=tiles, products=PRODUCTS.values())
    with EarthdataServer(root) as cloud:
        cloud.users[EARTHDATA_TOKEN] = {"uid": "alice", "approved": True, "eula": True, "exp": None}
        work = workflow_dir(tmp_path, laads_server=cloud, sources=["blackmarble"])
        set_months(work, "2018-01", "2018-06")
        snakemake(work)
        snakemake(work, "--report", "results/report.html")
    zones = pd.read_csv(work / "results/report/satellites_by_zone.csv", dtype={"zone_id": str})
    bright = zones[zones.months >= 3].dropna(subset=["median_ratio"])
    assert len(bright) >= 3
    assert bright.median_ratio.between(0.85, 1.0).all(), bright
    assert (bright.relative_spread < 0.5).all()
    assert (work / "results/report/satellites.png").stat().st_size > 10_000
    html = (work / "results/report.html").read_text(errors="replace")
    assert "Satellites compared" in html and "NOAA-20 vs Suomi NPP" in html


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
    """Every Black Marble download job takes one `laads_downloads`, which each profile
    caps (public scripts report that LAADS stalls clients that open many connections),
    and fetches download.parallel files at once: with 4 cores and room for 4 EOG
    downloads, LAADS never sees more than limit x parallel at once."""
    with CountingLAADS(laads_tree, token=EARTHDATA_TOKEN) as laads:
        work = workflow_dir(
            tmp_path,
            eog_server,
            laads,
            sources=["blackmarble"],
            download={"parallel": 1},
            # whole files: the download jobs' slots are the subject (reads by window
            # happen in the statistics jobs, which take no slot)
            blackmarble={"read": "download"},
        )
        set_months(work, "2019-01", "2019-02")
        snakemake(
            work, "--resources", f"laads_downloads={limit}", "eog_downloads=4", "--cores", "4",
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
    cfg["sources"] = ["blackmarble"]
    cfg["months"] = {"start": "2011-12", "end": "2012-02"}
    (both / "config/test.yaml").write_text(yaml.safe_dump(cfg))
    p = snakemake(both, check=False)
    assert p.returncode != 0 and "before 2012-01" in last_line(p)


# ------------------------------------------------------------------ unit checks (no Snakemake)

GAP_MONTH = "2019-02"  # a cloudy month: the cloudy box over Coega (h20v12) is all gap filled
VAR = "NearNadir_Composite_Snow_Free"


def bm(min_cloud_free=1, **blackmarble):
    """The Black Marble source of a full config (``blackmarble`` keys replaced)."""
    blackmarble.setdefault("products", ["VNP46A3"])
    cfg = make_config(blackmarble=blackmarble, stats={"min_cloud_free": min_cloud_free})
    return sources.get("blackmarble", cfg)


def ladsweb(server, **blackmarble):
    return bm(endpoint="ladsweb", ladsweb_url=f"{server.url}/archive/allData", **blackmarble)


def all_rows(src, path, kind="radiance"):
    """Every row of one band of ``path`` as ``src.bands`` gives it."""
    with h5py.File(path, "r") as f:
        (band,) = src.bands(f, path.name, (kind,))
        n = f[bmt.DATA_FIELDS][VAR].shape[0]
        return np.stack([line for _, line in band.rows(np.arange(n))])


def zones_of(tmp_path, geoms: dict):
    path = tmp_path / "zones.geojson"
    gpd.GeoDataFrame({"id": list(geoms)}, geometry=list(geoms.values()), crs="EPSG:4326").to_file(
        path
    )
    return load_zones(path, "id")


def stats_of(zones, files, src, month=GAP_MONTH, min_cloud_free=1):
    from helpers import stats_of as computed

    return computed(zones, files, src, month, min_cloud_free=min_cloud_free).set_index("zone_id")


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
    zones = zones_of(
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
    of that month in the configured collection (the filter list_month applies). On
    ladsweb the search starts from the current month (NOAA-20's VJ146A3 goes on)."""
    old, mid, new = recent_months(3)
    tiles = ["h21v09", "h20v12"]
    product = "VJ146A3"
    bmt.make_tree(tmp_path, old, new, 3600, tiles=["h21v09"], products=[product])
    bmt.make_tree(tmp_path, old, old, 3600, tiles=["h20v12"], products=[product])
    folder = tmp_path / bmt.month_folder(mid, product=product)
    y, doy = mid[:4], bmt.doy(mid)
    for name in (  # h20v12 in mid, but none of them a file of mid in collection 5200
        f"{product}.A{y}{doy}.h20v12.001.2025133000000.h5",  # Collection 1's version
        f"{product}.A{y}{bmt.doy(old)}.h20v12.002.2025133000000.h5",  # another month's day
        f"{product}.A{int(y) - 1}{doy}.h20v12.002.2025133000000.h5",  # another year
    ):
        (folder / name).write_bytes(b"")
    with LAADSServer(tmp_path, token=EARTHDATA_TOKEN) as laads:
        src = ladsweb(laads, pixel_arcsec=3600, products=[product])
        session = src.session({"EARTHDATA_TOKEN": EARTHDATA_TOKEN})
        month, skipped = src.latest_month(session, tiles, "2012-01")
        assert month == old
        # the current month is not published; the two after `old` lack h20v12
        assert [line.split(":")[0] for line in skipped][1:] == [f"skipped {new}", f"skipped {mid}"]
        assert "not published" in skipped[0] and len(skipped) == 3
        assert all("h20v12 not listed" in line for line in skipped[1:]), skipped
        assert [a["tile"] for a in src.list_month(session, mid, tiles).absent] == ["h20v12"]
        # a month listing every needed tile is latest, whatever other tiles it lacks
        assert src.latest_month(session, ["h21v09"], "2012-01")[0] == new
        with pytest.raises(UserError, match="set months.end to a month instead of latest"):
            src.latest_month(session, ["h21v09", "h00v00"], "2012-01")


def test_listings_that_need_the_token_get_it(tmp_path):
    """LAADS may now want the token on month listings too (blackmarbler #25): the client
    sends it with every listing, so such a listing works."""
    bmt.make_tree(tmp_path, "2019-01", "2019-01", 3600, tiles=["h21v09"])
    with LAADSServer(tmp_path, token=EARTHDATA_TOKEN, listings_need_token=True) as laads:
        src = ladsweb(laads, pixel_arcsec=3600)
        session = src.session({"EARTHDATA_TOKEN": EARTHDATA_TOKEN})
        m = src.list_month(session, "2019-01", ["h21v09"])
        assert [g.tile for g in m.granules] == ["h21v09"]
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
        src = ladsweb(laads, collection="5000", quality=[0, 1])
        session = src.session({"EARTHDATA_TOKEN": EARTHDATA_TOKEN})
        entry = src.list_month(session, month, [tile]).granules[0].parts[0]
        path = src.download(session, entry, tmp_path / "dl" / entry.name)
    assert ".001." in path.name and "/5000/VNP46A3/" in entry.url
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


# ------------------------------------------------------------------ VJ146A3 and the cloud


def test_noaa20_statistics_match_the_oracle_of_its_own_files(tmp_path):
    """VJ146A3 read with the same quality and fill rules, on the same grid, against the
    oracle of its own HDF5 arrays."""
    month = "2019-02"
    files = bmt.make_tree(tmp_path, month, month, PIXEL_ARCSEC, tiles=["h21v08", "h21v09"],
                          products=["VJ146A3"])  # fmt: skip
    zones = zones_of(
        tmp_path, {"city": box(36.8, -1.6, 37.2, -1.3), "edge": box(39.7, -0.4, 40.2, 0.3)}
    )
    src = bm(products=["VNP46A3", "VJ146A3"])
    df = stats_of(zones, files, src, month)
    assert set(df["product"]) == {"VJ146A3"} and set(df.satellite) == {"j01"}
    rad, num, covered, lat = blackmarble_globe(month, ["h21v08", "h21v09"], files=files,
                                               product="VJ146A3")  # fmt: skip
    for zid, geom in zip(zones.zone_id, zones.geometry, strict=True):
        ref = oracle(geom, rad, num, lat, covered=covered)
        assert df.loc[zid, "quality"] == ref.pop("quality")
        for k, v in ref.items():
            assert df.loc[zid, k] == pytest.approx(v, rel=1e-4, abs=1e-9), (zid, k)
    with h5py.File(files[0], "r") as f:  # NOAA-20 in the User Guide's table (not confirmed)
        platform = f[bmt.DATA_FIELDS]["DNB_Platform"][:]
    assert set(np.unique(platform)) <= {1, 255}


def test_a_file_holding_another_tile_is_refused(tmp_path):
    """ALEPH found a real file named h12v09 holding h13v04's bytes: a file whose own tile
    numbers are not its name's is corrupt."""
    path = bmt.write_file(tmp_path / bmt.file_name("2019-01", "h21v09"), "2019-01", "h21v09",
                          PIXEL_ARCSEC / 3600)  # fmt: skip
    bm().verify(path)
    with h5py.File(path, "r+") as f:
        f.attrs["VerticalTileNumber"] = np.bytes_(b"04")
    with pytest.raises(Exception, match="holds tile h21v04, not the h21v09 its name says"):
        bm().verify(path)


@pytest.fixture
def cloud(request):
    return make_site(request, "cloud")


def test_cmr_is_searched_page_by_page_and_inherited_links_are_not_files(cloud, monkeypatch):
    """Granules come from CMR's search in pages (the CMR-Search-After header), the file
    name from producer_granule_id, the file from the granule's own data link."""
    from sezlights.sources import blackmarble as bmsrc

    monkeypatch.setattr(bmsrc, "CMR_PAGE", 3)
    src = bm(products=["VNP46A3"], endpoint="cloud", cmr_url=cloud.server.cmr_url,
             cloud_url=cloud.server.cloud_url)  # fmt: skip
    m = src.list_month(cloud.session, "2019-02", BM_TILES)
    assert sorted(g.tile for g in m.granules) == sorted(BM_TILES)
    assert all(g.parts[0].name.startswith("VNP46A3.A2019032.") for g in m.granules)
    pages = [r for r in cloud.server.requests if r[1] == "/search/granules.json"]
    assert len(pages) == 3  # 8 granules, 3 a page
    assert all("/prod-lads/VNP46A3/" in g.parts[0].url for g in m.granules)
    entry = {"links": [
        {"rel": "http://esipfed.org/ns/fedsearch/1.1/data#", "inherited": True, "href": "https://x/f.h5"},
        {"rel": "http://esipfed.org/ns/fedsearch/1.1/s3#", "href": "s3://prod-lads/P/f.h5"},
        {"rel": "http://esipfed.org/ns/fedsearch/1.1/data#", "href": "https://h/prod-lads/P/f.h5"},
    ]}  # fmt: skip
    assert bmsrc.cmr_data_link(entry, "f.h5") == "https://h/prod-lads/P/f.h5"


def test_cmr_is_asked_for_the_needed_tiles_only(cloud, monkeypatch):
    """Issue 18: granules are searched by product, version, month and the needed tiles
    (name patterns, no leading wildcard); a month without those tiles is published with
    them absent, not unpublished; many tiles search the whole month."""
    from sezlights.sources import blackmarble as bmsrc

    src = bm(products=["VNP46A3"], endpoint="cloud", cmr_url=cloud.server.cmr_url,
             cloud_url=cloud.server.cloud_url)  # fmt: skip

    def cmr_bytes(needed):
        cloud.server.reset_log()
        m = src.list_month(cloud.session, "2019-02", needed)
        return m, cloud.server.bytes_by_path.get("/search/granules.json", 0)

    two = BM_TILES[:2]
    m, narrow = cmr_bytes(two)
    assert sorted(g.tile for g in m.granules) == sorted(two)
    monkeypatch.setattr(bmsrc, "CMR_TILES_BY_NAME", 0)  # the whole month, then picked
    m_all, whole = cmr_bytes(two)
    assert [g.parts[0].name for g in m_all.granules] == [g.parts[0].name for g in m.granules]
    assert narrow * 3 < whole  # 2 granules' entries against the month's 8
    monkeypatch.undo()

    # several queries of a few names each give the same as one
    monkeypatch.setattr(bmsrc, "CMR_TILES_PER_QUERY", 3)
    m = src.list_month(cloud.session, "2019-02", BM_TILES)
    assert sorted(g.tile for g in m.granules) == sorted(BM_TILES)

    # a tile CMR has no granule of: absent in a published month, not an unpublished month
    m = src.list_month(cloud.session, "2019-02", ["h00v00"])
    assert m.granules == [] and [a["tile"] for a in m.absent] == ["h00v00"]
    assert not any(month == "2015-06" for _, _, month in cloud.server.granules())
    with pytest.raises(MissingFileError, match="not published in CMR"):
        src.list_month(cloud.session, "2015-06", ["h00v00"])


def test_a_file_republished_between_two_listings_changes_its_month_only(cloud):
    """Issue 19: a Black Marble file replaced between runs (LAADS republishes under a new
    production stamp) changes that month's manifest, its digest (the param that reruns
    the month's jobs) and the file's identity; another month's manifest is unchanged."""
    src = bm(products=["VNP46A3"], endpoint="cloud", cmr_url=cloud.server.cmr_url,
             cloud_url=cloud.server.cloud_url)  # fmt: skip
    tiles = BM_TILES[:2]
    before = {m: src.list_month(cloud.session, m, tiles) for m in ("2019-01", "2019-02")}
    old = next(cloud.server.tree.rglob(f"VNP46A3.A2019032.{tiles[0]}.*.h5"))
    stamp = old.name.split(".")[4]
    new = old.with_name(old.name.replace(stamp, str(int(stamp) + 1)))
    new.write_bytes(old.read_bytes() + b"\0" * 4096)  # a new production, a new size
    old.unlink()
    cloud.server.rescan()
    after = {m: src.list_month(cloud.session, m, tiles) for m in ("2019-01", "2019-02")}
    assert after["2019-01"].digest() == before["2019-01"].digest()
    assert after["2019-02"].digest() != before["2019-02"].digest()
    identity = {m: {g.tile: g.parts[0].identity() for g in after[m].granules} for m in after}
    was = {g.tile: g.parts[0].identity() for g in before["2019-02"].granules}
    assert identity["2019-02"][tiles[1]] == was[tiles[1]]
    assert identity["2019-02"][tiles[0]] != was[tiles[0]]
    assert identity["2019-02"][tiles[0]][0] == new.name


def test_a_month_window_starting_at_midnight_would_catch_the_month_before(cloud):
    """CMR's temporal bounds are inclusive and a monthly granule ends at 00:00:00 on the
    next month's first day: the listing asks from 00:00:01, so it gets one month."""
    url = cloud.server.cmr_url + "granules.json"
    q = {"short_name": "VNP46A3", "version": "2", "page_size": "2000"}
    naive = cloud.session.get(
        url, params={**q, "temporal[]": "2019-02-01T00:00:00Z,2019-02-28T23:59:59Z"}
    )
    days = {e["producer_granule_id"].split(".")[1] for e in naive.json()["feed"]["entry"]}
    assert days == {"A2019001", "A2019032"}  # January too
    src = bm(products=["VNP46A3"], endpoint="cloud", cmr_url=cloud.server.cmr_url,
             cloud_url=cloud.server.cloud_url)  # fmt: skip
    m = src.list_month(cloud.session, "2019-02", BM_TILES)
    assert {g.parts[0].name.split(".")[1] for g in m.granules} == {"A2019032"}


def test_the_token_never_reaches_the_signed_url_host(cloud, tmp_path):
    cloud.fetch(tmp_path)
    assert (tmp_path / cloud.file).read_bytes() == cloud.real.read_bytes()
    assert cloud.redirects() == [303] and cloud.statuses() == [200]
    assert cloud.server.auth_headers == [f"Bearer {EARTHDATA_TOKEN}"]  # at the cloud host
    assert cloud.server.signed_auth == [None]  # never at the signed address


def test_a_download_cut_after_its_signed_url_expired_resumes_with_a_new_one(cloud, tmp_path):
    """The body is cut; by the next try (after the backoff) the signed URL has expired:
    S3 answers 403, a new signed URL is asked for and the download resumes with Range."""
    cloud.server.signed_lifetime = 0.3
    cloud.add_faults("cut")
    cloud.fetch(tmp_path, backoff=0.6)
    assert (tmp_path / cloud.file).read_bytes() == cloud.real.read_bytes()
    assert cloud.statuses() == [599, 403, 206]  # cut, expired, resumed at a new address
    assert cloud.redirects() == [303, 303]
    assert set(cloud.server.signed_auth) == {None}


def test_a_missing_granule_at_the_cloud_host_is_one_line(cloud, tmp_path):
    cloud.real.unlink()
    with pytest.raises(MissingFileError, match="is in CMR but the cloud host answers 404") as e:
        cloud.fetch(tmp_path)
    assert len(str(e.value).splitlines()) == 1


def test_an_unaccepted_eula_names_where_to_accept_it(cloud, tmp_path):
    token = cloud.server.add_user("carol", eula=False)
    with pytest.raises(LoginError, match="licence \\(EULA\\) .* accept it at http"):
        cloud.fetch(tmp_path, session=cloud.static_session(token))


def test_a_wrong_token_on_ladsweb_is_caught_at_the_start(laads_server):
    """On ladsweb (issue 21, item 7) the check lists the run's first month with the token and
    asks one of its files for 8 bytes: LAADS answers a refused token on a file with its
    Earthdata Login page (evidence §2.2), so a wrong token stops the run before any job."""
    src = bm(products=["VNP46A3"], **blackmarble_urls(laads_server))
    src.check_login({"EARTHDATA_TOKEN": EARTHDATA_TOKEN}, month="2019-01")
    file_gets = [(p, st) for _, p, st in laads_server.requests if p.endswith(".h5")]
    assert len(file_gets) == 1 and file_gets[0][1] == 206  # 8 bytes, nothing downloaded
    # (the stand-in already refuses a wrong token on the listing; real LAADS may refuse it
    # only on the file: either ends here, with the listing job's message)
    with pytest.raises(LoginError, match="LAADS refused EARTHDATA_TOKEN"):
        src.check_login({"EARTHDATA_TOKEN": make_token("bob", expires=4102444800)}, month="2019-01")
    # a month with no file: nothing to try the token on (the listing job says why)
    src.check_login({"EARTHDATA_TOKEN": EARTHDATA_TOKEN}, month="2019-05")


def test_the_login_is_checked_at_the_start(cloud):
    """check_login (run before any job) asks the cloud host for one granule without
    following the redirect: a refused or unapproved token fails there, not in a job."""
    src = bm(products=["VNP46A3"], endpoint="cloud", cmr_url=cloud.server.cmr_url,
             cloud_url=cloud.server.cloud_url)  # fmt: skip
    src.check_login({"EARTHDATA_TOKEN": EARTHDATA_TOKEN})
    bob = cloud.server.add_user("bob", approved=False)
    with pytest.raises(LoginError, match="approve the 'LAADS Web' application"):
        src.check_login({"EARTHDATA_TOKEN": bob})
    with pytest.raises(LoginError, match="expired at 2020-09-13"):
        src.check_login({"EARTHDATA_TOKEN": make_token("x", expires=1_600_000_000)})
    assert cloud.server.signed_auth == []  # the check never fetches a file
