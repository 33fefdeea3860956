"""EOG's untiled monthly files (``monthly_notile/v10``) read by window, against the stand-in.

One tree holds, beside the tiled archives of 2019-01..2019-04, the untiled global files
of each month in another internal layout (sezlights_standin.eog_notile, written from
docs/evidence/eog-notile.md): 2019-01 internally tiled, 2019-02 one-row strips, 2019-03
one strip (one block), 2019-04 only gzipped. Everything goes over real HTTP through the
EOG stand-in, with its Keycloak login: GDAL sends the bearer token itself.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from helpers import (
    CLIENT_SECRET,
    PASSWORD,
    PIXEL_ARCSEC,
    REPO,
    SERVER_PATH,
    eog_env,
    eog_globe,
    eog_standin,
    files_containing,
    last_line,
    make_config,
    read_table,
    set_months,
    snakemake,
    workflow_dir,
)
from rasterio.windows import Window
from sezlights_standin import eog_notile, eog_tiles

from sezlights import index, sources
from sezlights.errors import ChangedFileError, LoginError
from sezlights.manifest import Granule
from sezlights.sources import eog
from sezlights.zones import load_zones

workflow = pytest.mark.workflow
NOTILE_PATH = eog_notile.SERVER_PATH
LAYOUTS = {"2019-01": "tiled", "2019-02": "strips", "2019-03": "single", "2019-04": "gz"}
MONTHS = tuple(LAYOUTS)
BLOCK = eog_notile.scaled_block(PIXEL_ARCSEC)  # 16 at 10': about 256 at 15"
WINDOW = Window(1200, 300, 40, 30)  # lattice pixels around the Horn of Africa


@pytest.fixture(scope="session")
def notile_tree(eog_tree, tmp_path_factory):
    """The tiled tree of conftest.eog_tree, and the untiled files in their layouts."""
    root = tmp_path_factory.mktemp("eog-notile")
    shutil.copytree(eog_tree, root, dirs_exist_ok=True)
    eog_notile.make_tree(
        root / NOTILE_PATH, MONTHS[0], MONTHS[-1], PIXEL_ARCSEC, layout=LAYOUTS, block=BLOCK
    )
    return root


@pytest.fixture
def server(notile_tree, tmp_path_factory):
    """A fresh copy of both trees behind the EOG stand-in (a test may change them)."""
    root = tmp_path_factory.mktemp("eog-notile-server")
    shutil.copytree(notile_tree, root, dirs_exist_ok=True)
    with eog_standin(root) as srv:
        srv.tree = root
        yield srv


def source(srv, **settings):
    cfg = make_config(
        eog={
            "base_url": f"{srv.url}/{SERVER_PATH}",
            "auth": {"token_url": srv.token_url},
            "pixel_arcsec": PIXEL_ARCSEC,
            **settings,
        },
        download={"retry_budget": 30, "attempts": 10},
    )
    return sources.get("eog", cfg)


def demo_index(src):
    zones = load_zones(REPO / "config/zones/demo_zones.geojson", "zone_id")
    idx = index.build_index(zones, src.tiles)
    numbers = set(src.tiles.tile_numbers(idx["row"], idx["col"]).tolist())
    return idx, sorted(src.tiles.ids[i] for i in numbers)


def listed(srv, month, **settings):
    src = source(srv, **settings)
    idx, needed = demo_index(src)
    s = src.session(eog_env())
    return src, s, src.list_month(s, month, needed, index=idx)


def served(srv, url: str):
    return srv.root / url.split("/", 3)[3]


def tif_paths(srv, month):
    ym = month.replace("-", "")
    return [p for p in srv.bytes_by_path if f"/{ym}/" in p and ".tif" in p]


def read_window(src, granule, session, window=WINDOW, files=None):
    with src.open(granule, files, session) as bands:
        return {b.kind: b.read(window) for b in bands}


# ---------------------------------------------------------------- the stand-in's files


def test_the_untiled_files_hold_the_tiles_values_on_the_global_grid(notile_tree):
    """Each month's global file is the six tiles stitched (the writer's own arrays
    against the tiled stand-in's archives, read with rasterio), one column and one row
    larger than 360 x 140 degrees, in the layout asked for."""
    import rasterio
    from sezlights_standin import grids

    folder = notile_tree / NOTILE_PATH / "2019/201901/vcmcfg"
    (rad,) = folder.glob("*global_vcmcfg_v10_c*.avg_rade9h.tif")
    with rasterio.open(rad) as ds:
        transform, rows, cols = grids.eog_global(PIXEL_ARCSEC / 3600)
        assert ds.shape == (rows, cols) == (841, 2161)
        assert ds.transform.almost_equals(transform)
        assert ds.block_shapes[0] == (BLOCK, BLOCK) and ds.compression.name == "lzw"
        whole = ds.read(1)
    tiles = eog_tiles.read_archive(
        next((notile_tree / SERVER_PATH / "2019/201901/vcmcfg").glob("*_75N060W_*.tgz"))
    )
    # 75N060W: rows 0..449, columns 720..1439 of the lattice
    np.testing.assert_array_equal(whole[:450, 720:1440], tiles["avg_rade9h"])
    np.testing.assert_array_equal(whole[:, -1], whole[:, 0])  # 180E is 180W
    assert not whole[-1].any()  # the extra row, at 65S
    shapes = {}
    for month in ("2019-02", "2019-03"):
        ym = month.replace("-", "")
        (path,) = (notile_tree / NOTILE_PATH / f"2019/{ym}/vcmcfg").glob("*.avg_rade9h.tif")
        with rasterio.open(path) as ds:
            shapes[month] = ds.block_shapes[0]
    assert shapes == {"2019-02": (1, 2161), "2019-03": (841, 2161)}
    gz = sorted(p.name for p in (notile_tree / NOTILE_PATH / "2019/201904/vcmcfg").iterdir())
    assert gz and all(n.endswith(".tif.gz") for n in gz)


def test_the_stand_in_answers_ranges_and_conditions_as_apache(server):
    """206 with Content-Range, or 200 with the whole file when ranges are off; an ETag
    and Last-Modified (none with etags off); If-Match and If-Unmodified-Since: 412 when
    they fail."""
    import requests

    token = server.issue_token("alice", "alice-scripts")
    auth = {"Authorization": f"Bearer {token}"}
    (path,) = (server.tree / NOTILE_PATH / "2019/201901/vcmcfg").glob("*.cf_cvg.tif")
    url = f"{server.url}/{path.relative_to(server.tree).as_posix()}"
    r = requests.get(url, headers={**auth, "Range": "bytes=0-9"})
    assert r.status_code == 206 and r.content == path.read_bytes()[:10]
    assert r.headers["Content-Range"] == f"bytes 0-9/{path.stat().st_size}"
    etag, modified = r.headers["ETag"], r.headers["Last-Modified"]
    for cond, status in (
        ({"If-Match": etag}, 206),
        ({"If-Match": '"other"'}, 412),
        ({"If-Unmodified-Since": modified}, 206),
        ({"If-Unmodified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"}, 412),
    ):
        assert (
            requests.get(url, headers={**auth, "Range": "bytes=0-9", **cond}).status_code == status
        )
    server.ranges, server.etags = False, False
    r = requests.get(url, headers={**auth, "Range": "bytes=0-9"})
    assert r.status_code == 200 and len(r.content) == path.stat().st_size
    assert "ETag" not in r.headers and r.headers["Accept-Ranges"] == "none"


# ---------------------------------------------------------------- listing and choosing


def test_auto_reads_tiled_and_striped_months_by_window_and_the_rest_from_tiles(server):
    got = {m: listed(server, m)[2] for m in MONTHS}
    reads = {m: [(g.tile, g.read) for g in man.granules] for m, man in got.items()}
    assert reads["2019-01"] == reads["2019-02"] == [("global", "window")]
    assert {t for t, _ in reads["2019-03"]} == {t for t, _ in reads["2019-04"]} == {
        "75N180W", "75N060W", "75N060E", "00N060W"
    }  # fmt: skip
    assert {r for _, r in reads["2019-03"] + reads["2019-04"]} == {"download"}
    # one note for each month that falls back, saying why; none for the others
    assert [len(got[m].notes) for m in MONTHS] == [0, 0, 1, 1]
    assert "is stored as one block of 2161 x 841 pixels" in got["2019-03"].notes[0]
    assert "listed only gzipped (.tif.gz)" in got["2019-04"].notes[0]
    assert all(n.endswith("reading the tiled archives") for m in MONTHS for n in got[m].notes)
    for month in ("2019-01", "2019-02"):
        g = got[month].granules[0]
        assert g.product == "vcmcfg" and g.satellite == "npp"
        assert [p.kind for p in g.parts] == ["radiance", "coverage"]
        assert all(p.etag and p.modified for p in g.parts)
        assert {p.stamp for p in g.parts} == {eog_tiles.default_stamp(month)}
        # the exact sizes (from the probe), not the listing's rounded ones
        assert [p.size for p in g.parts] == [served(server, p.url).stat().st_size for p in g.parts]
        assert g.bytes_download == sum(p.size for p in g.parts)
        assert 0 < g.bytes_window < g.bytes_download / 5
        tiles_bytes = sum(
            p.stat().st_size
            for p in (server.tree / SERVER_PATH / f"2019/{month.replace('-', '')}").rglob("*.tgz")
        )
        assert g.bytes_window < tiles_bytes / 10


def test_tiles_layout_never_asks_for_the_untiled_tree(server):
    _, _, man = listed(server, "2019-01", layout="tiles")
    assert {g.read for g in man.granules} == {"download"}
    assert not [p for _, p, _ in server.requests if "monthly_notile" in p]


@pytest.mark.parametrize("window_reads", ["none", "anonymous"])
def test_where_jobs_may_not_read_eog_by_window_the_month_reads_the_tiles(server, window_reads):
    """download.local: true (no internet in jobs), or an executor without a shared file
    system (no credential may go there; EOG needs a login): the tiled archives, one note
    saying why, and nothing of the untiled tree asked for."""
    src = source(server, layout="notile")
    src.window_reads = window_reads
    idx, needed = demo_index(src)
    man = src.list_month(src.session(eog_env()), "2019-01", needed, index=idx)
    assert {g.read for g in man.granules} == {"download"} and len(man.granules) == 4
    (note,) = man.notes
    assert note.startswith("the untiled files are not read by window: the j")
    assert note.endswith("reading the tiled archives")
    assert not [p for _, p, _ in server.requests if "monthly_notile" in p]


def test_notile_layout_reads_whole_untiled_files_when_the_zones_need_most_of_them(server):
    """Zones over the whole globe need every block: by window costs more than the
    files, so ``notile`` downloads them whole (they are many blocks, so readable once
    downloaded); ``auto`` does the same when that is also fewer bytes than the tiles."""
    src = source(server, layout="notile")
    world = gpd.GeoDataFrame(
        {"zone_id": ["world"]}, geometry=[shapely.box(-179.9, -64.9, 179.9, 74.9)], crs=4326
    )
    idx = index.build_index(world, src.tiles)
    s = src.session(eog_env())
    man = src.list_month(s, "2019-02", list(src.tiles.ids), index=idx)
    (g,) = man.granules
    assert (g.tile, g.read) == ("global", "download")
    assert g.bytes_window >= g.bytes_download
    assert "downloading the untiled files whole" in man.notes[0]


def test_without_range_support_the_month_reads_the_tiles_and_says_why(server):
    server.ranges = False  # every ranged GET answered 200 with the whole file
    _, _, man = listed(server, "2019-01")
    assert {g.read for g in man.granules} == {"download"} and len(man.granules) == 4
    (note,) = man.notes
    assert "no Range support" in note and note.endswith("reading the tiled archives")
    # one probe of the radiance file said so; the coverage file was not asked for
    tifs = [(m, p.rsplit(".", 2)[-2]) for m, p, _ in server.requests if p.endswith(".tif")]
    assert tifs == [("GET", "avg_rade9h")]


def test_a_month_not_in_the_untiled_tree_reads_the_tiles_with_a_note(server):
    shutil.rmtree(server.tree / NOTILE_PATH / "2019/201902")
    _, _, man = listed(server, "2019-02")
    assert {g.read for g in man.granules} == {"download"}
    (note,) = man.notes
    assert note.startswith("no untiled vcmcfg file is listed at ")


def test_names_noaa20_short_date_ranges_both_forms_and_the_newest_stamp(server):
    """2022-08 under NOAA-20/ with SVDNB_j01_ names; a name whose range ends before the
    month does; two stamps of a month (the newer wins); .tif beside .tif.gz (the .tif
    is read). Only the untiled tree has these months: ``notile`` needs no tiles."""
    root = server.tree / NOTILE_PATH
    eog_notile.make_tree(root, "2022-08", "2022-08", PIXEL_ARCSEC, block=BLOCK, also_gz=True)
    eog_notile.make_tree(root, "2019-05", "2019-05", PIXEL_ARCSEC, block=BLOCK)
    eog_notile.make_tree(
        root, "2019-05", "2019-05", PIXEL_ARCSEC, block=BLOCK, stamp="201906300000"
    )
    for f in (root / "2019/201905/vcmcfg").iterdir():  # the newer stamp ends on the 26th
        if "c201906300000" in f.name:
            f.rename(f.with_name(f.name.replace("20190501-20190531", "20190501-20190526")))
    _, _, aug = listed(server, "2022-08", layout="notile")
    (g,) = aug.granules
    assert g.satellite == "j01" and "/2022/202208/NOAA-20/vcmcfg/" in g.parts[0].url
    assert [p.name for p in g.parts] == [
        "SVDNB_j01_20220801-20220831_global_vcmcfg_v10_c202209231200.avg_rade9h.tif",
        "SVDNB_j01_20220801-20220831_global_vcmcfg_v10_c202209231200.cf_cvg.tif",
    ]
    _, _, may = listed(server, "2019-05", layout="notile")
    assert may.granules[0].parts[0].name == (
        "SVDNB_npp_20190501-20190526_global_vcmcfg_v10_c201906300000.avg_rade9h.tif"
    )


# ---------------------------------------------------------------- reading


@pytest.mark.parametrize("month", ["2019-01", "2019-02"])
def test_a_window_read_fetches_a_sliver_and_equals_the_downloaded_file(server, month, tmp_path):
    src, s, man = listed(server, month)
    (g,) = man.granules
    server.reset_log()
    remote = read_window(src, g, s)
    time.sleep(0.1)
    sent = sum(server.bytes_by_path.get(p, 0) for p in tif_paths(server, month))
    assert 0 < sent < g.bytes_download / 5, (sent, g.bytes_download)
    for p in g.parts:  # downloaded whole, through the download path (verified, TIFF magic)
        src.download(s, p, tmp_path / p.name)
    local = Granule(**{**g.__dict__, "read": "download"})
    np.testing.assert_equal(read_window(src, local, None, files=tmp_path), remote)
    # and the same values as the tiled archives'
    rad, cvg, _ = eog_globe(month)
    r0, c0 = WINDOW.row_off, WINDOW.col_off
    sl = (slice(r0, r0 + WINDOW.height), slice(c0, c0 + WINDOW.width))
    np.testing.assert_array_equal(remote["radiance"], rad[sl])
    np.testing.assert_array_equal(remote["coverage"], cvg[sl])


def test_verify_takes_a_whole_untiled_file_and_refuses_a_cut_one(server, tmp_path):
    src, s, man = listed(server, "2019-01")
    part = man.granules[0].parts[0]
    whole = served(server, part.url)
    src.verify(whole)
    cut = tmp_path / part.name
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    with pytest.raises(Exception, match="delete it and run again"):
        src.verify(cut)


def test_a_token_expiring_mid_read_is_renewed(notile_tree):
    """Tokens of 1.5 s: a read after the token expired reopens the file with the renewed
    token (no request is sent with the stale one)."""
    with eog_standin(notile_tree, token_lifetime=1.5) as srv:
        src, s, man = listed(srv, "2019-01", layout="notile")
        (g,) = man.granules
        with src.open(g, None, s) as bands:
            first = {b.kind: b.read(WINDOW) for b in bands}
            time.sleep(1.8)
            second = {b.kind: b.read(Window(0, 0, 40, 30)) for b in bands}
            third = {b.kind: b.read(WINDOW) for b in bands}
        np.testing.assert_equal(first, third)
        assert second["radiance"].shape == (30, 40)
        rad = [(tok, m) for _, m, p, tok in srv.bearer_log if p.endswith(".avg_rade9h.tif")]
        assert len({tok for tok, _ in rad}) >= 2  # reopened with a new token
        assert "refresh_token" in srv.grants
        data = [st for _, p, st in srv.requests if p.endswith(".tif")]
        assert data and not [st for st in data if st in (302, 401, 403)]


def test_a_refused_token_is_renewed_once_then_stops_with_a_login_error(server):
    src, s, man = listed(server, "2019-01", layout="notile")
    (g,) = man.granules
    grants = len(server.grants)
    # refused (GDAL's open asks twice: its stat, then the open): renewed once, read
    server.add_faults(".avg_rade9h.tif", "401", "401")
    assert read_window(src, g, s)["radiance"].shape == (30, 40)
    assert server.grants[grants:] == ["refresh_token"]
    server.add_faults(".avg_rade9h.tif", *["401"] * 8)  # refused again after renewing
    with pytest.raises(LoginError, match="refused the read .* although the login succeeded"):
        read_window(src, g, s)


def test_the_token_never_follows_a_redirect_to_another_host(server):
    """The server sends a read elsewhere (its other host name): GDAL follows without
    the token, gets the login page there, and the file is opened again on its own host."""
    src, s, man = listed(server, "2019-01", layout="notile")
    (g,) = man.granules
    server.redirect_base = server.other_origin
    server.add_faults(".avg_rade9h.tif", "redirect", "redirect")
    server.reset_log()
    assert read_window(src, g, s)["radiance"].shape == (30, 40)
    tokens = [tok for _, _, p, tok in server.bearer_log if p.endswith(".avg_rade9h.tif")]
    redirected = [st for _, p, st in server.requests if p.endswith(".avg_rade9h.tif")][:2]
    assert redirected == [302, 302]
    assert None in tokens  # the requests at the other host carried no token
    valid = set(server.issued_secrets())
    assert all(tok is None or tok in valid for tok in tokens)


def test_a_body_cut_mid_block_and_503s_are_tried_again(server):
    src, s, man = listed(server, "2019-02")  # strips
    (g,) = man.granules
    want = read_window(src, g, s)
    with src.open(g, None, s) as bands:  # opened: the faults hit the reads' GETs
        server.add_faults(".avg_rade9h.tif", "cut", "503", "503")
        server.add_faults(".cf_cvg.tif", "cut")
        got = {b.kind: b.read(WINDOW) for b in bands}
    np.testing.assert_equal(got, want)
    assert [st for _, p, st in server.requests if p.endswith(".avg_rade9h.tif")].count(599) == 1


@pytest.mark.parametrize("etags", [True, False])
def test_a_file_replaced_after_its_listing_is_never_read_in_part(notile_tree, etags):
    """With ETags every request carries If-Match; without (EOG's ETags are not known),
    the size and date are checked at open and every request carries
    If-Unmodified-Since: either way a replaced file stops the read."""
    with eog_standin(notile_tree, etags=etags) as srv:
        src, s, man = listed(srv, "2019-01", layout="notile")
        (g,) = man.granules
        assert bool(g.parts[0].etag) is etags
        path = served(srv, g.parts[0].url)
        data = path.read_bytes()
        try:
            read_window(src, g, s)
            path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # republished
            later = time.time() + 5
            os.utime(path, (later, later))
            with pytest.raises(ChangedFileError, match="changed on the server after its month"):
                read_window(src, g, s)
        finally:
            path.write_bytes(data)  # the session's tree, as it was


def test_gdal_gets_the_token_as_bearer_auth_never_in_a_url():
    from sezlights.remote import gdal_options

    opts = gdal_options(bearer="tok-123")
    assert opts["GDAL_HTTP_AUTH"] == "BEARER" and opts["GDAL_HTTP_BEARER"] == "tok-123"
    assert "tok-123" not in opts.get("GDAL_HTTP_HEADERS", "")


# ---------------------------------------------------------------- workflow


def eog_bytes(srv, month, suffix):
    ym = month.replace("-", "")
    return sum(n for p, n in srv.bytes_by_path.items() if f"/{ym}/" in p and p.endswith(suffix))


@workflow
def test_untiled_months_give_the_tiled_archives_table(server, tmp_path):
    """``auto`` over the four layouts against ``tiles``: the same table; 2019-01 and
    2019-02 read by window for a small share of the tiles' bytes, 2019-03 and 2019-04
    from the tiles with one note line each; no token in any file or in the output."""
    tables, sent, out = {}, {}, {}
    for layout in ("tiles", "auto"):
        work = workflow_dir(tmp_path / layout, server, eog={"layout": layout})
        set_months(work, MONTHS[0], MONTHS[-1])
        server.reset_log()
        p = snakemake(work, "results/zonal_stats.csv")
        time.sleep(0.1)
        sent[layout] = {
            m: (eog_bytes(server, m, ".tif"), eog_bytes(server, m, ".tgz")) for m in MONTHS
        }
        tables[layout] = read_table(work / "results/zonal_stats.csv")
        out[layout] = p.stdout + p.stderr
        reads = {
            m: {
                g["read"]
                for g in json.loads((work / f"results/manifests/eog/{m}.json").read_text())[
                    "granules"
                ]
            }
            for m in MONTHS
        }
        if layout == "auto":
            assert reads == {"2019-01": {"window"}, "2019-02": {"window"},
                             "2019-03": {"download"}, "2019-04": {"download"}}  # fmt: skip
            secrets = [PASSWORD, CLIENT_SECRET, *server.issued_secrets()]
            assert files_containing(work, *secrets) == []
            assert not [x for x in secrets if x in out[layout]]
    pd.testing.assert_frame_equal(tables["auto"], tables["tiles"])
    print("bytes the stand-in sent (untiled .tif, tiled .tgz):", sent)  # pytest -s
    for month in ("2019-01", "2019-02"):  # by window: no archive, a sliver of the files
        window, archives = sent["auto"][month]
        assert archives == 0
        assert 0 < window < sent["tiles"][month][1] / 4, (month, window, sent["tiles"][month])
    for month, why in (("2019-03", "stored as one block"), ("2019-04", "listed only gzipped")):
        lines = [ln for ln in out["auto"].splitlines() if why in ln]
        assert len(lines) == 1, lines
        assert month in lines[0]


@workflow
def test_without_range_support_a_month_reads_the_tiles(server, tmp_path):
    server.ranges = False
    work = workflow_dir(tmp_path, server, eog={"layout": "notile"})
    set_months(work, "2019-01", "2019-01")
    p = snakemake(work, "results/zonal_stats.csv")
    lines = [ln for ln in (p.stdout + p.stderr).splitlines() if "no Range support" in ln]
    assert len(lines) == 1
    manifest = json.loads((work / "results/manifests/eog/2019-01.json").read_text())
    assert {g["read"] for g in manifest["granules"]} == {"download"}
    server.ranges = True
    ref = workflow_dir(tmp_path / "ref", server, eog={"layout": "tiles"})
    set_months(ref, "2019-01", "2019-01")
    snakemake(ref, "results/zonal_stats.csv")
    pd.testing.assert_frame_equal(
        read_table(work / "results/zonal_stats.csv"), read_table(ref / "results/zonal_stats.csv")
    )


@workflow
def test_a_file_replaced_between_listing_and_reading_stops_with_one_line(server, tmp_path):
    work = workflow_dir(tmp_path, server, eog={"layout": "notile"})
    set_months(work, "2019-01", "2019-01")
    snakemake(work, "results/manifests/eog/2019-01.json")
    (path,) = (server.tree / NOTILE_PATH / "2019/201901/vcmcfg").glob("*.cf_cvg.tif")
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    p = snakemake(work, "results/zonal_stats.csv", check=False)
    assert p.returncode != 0
    assert "changed on the server after its month was listed" in last_line(p)
    assert "run again" in last_line(p)
    snakemake(work, "results/zonal_stats.csv")  # listed anew, read anew


def test_gzip_stand_in_files_are_the_tiled_layouts_bytes(notile_tree, tmp_path):
    """The gz layout is the tiled file gzipped (no plain .tif beside it)."""
    import rasterio

    (gz,) = (notile_tree / NOTILE_PATH / "2019/201904/vcmcfg").glob("*.avg_rade9h.tif.gz")
    plain = tmp_path / "x.tif"
    plain.write_bytes(gzip.decompress(gz.read_bytes()))
    with rasterio.open(plain) as ds:
        assert ds.block_shapes[0] == (BLOCK, BLOCK) and ds.shape == (841, 2161)
    assert eog.NOTILE_RE.match(gz.name)["gz"] == ".gz"
