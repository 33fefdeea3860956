import logging

import pytest
from conftest import SERVER_PATH, TOKEN

from sezlights.discover import (
    ARCHIVE_RE,
    discover_month,
    latest_month,
    list_directory,
    month_dir_url,
)
from sezlights.errors import MissingTileError
from sezlights.http import make_session


def test_regex_matches_real_names():
    m = ARCHIVE_RE.match("SVDNB_npp_20140401-20140430_00N060E_vcmcfg_v10_c201507201613.tgz")
    assert m and m["tile"] == "00N060E" and m["stamp"] == "201507201613"
    assert ARCHIVE_RE.match("SVDNB_npp_20190101-20190131_75N180W_vcmslcfg_v10_c201902122100.tgz")
    for other in [
        "SVDNB_npp_20190101-20190131_75N180W_vcmcfg_v10_c201902122100.tgz.md5",
        "SVDNB_npp_20190101-20190131_75N180W_vcmcfg_v10_c2019021221.tgz",
        "README.txt",
        "SVDNB_npp_20190101-20190131_global_vcmcfg_v10_c201902122100.tgz",
    ]:
        assert not ARCHIVE_RE.match(other)


def test_listing_and_manifest(tile_server):
    s = make_session()
    base = f"{tile_server.url}/{SERVER_PATH}"
    entries = dict(list_directory(s, month_dir_url(base, "2019-02", "vcmcfg")))
    assert len([n for n in entries if n.endswith(".tgz")]) == 6
    m = discover_month(s, base, "2019-02", "vcmcfg", ["75N060W", "00N060W"])
    assert [t["tile"] for t in m["tiles"]] == ["75N060W", "00N060W"]
    t = m["tiles"][0]
    assert t["url"].endswith(t["name"]) and t["url"].startswith(base)
    assert t["size"] == (tile_server.tree / "2019/201902/vcmcfg" / t["name"]).stat().st_size
    assert m["tiles_not_needed"] == ["00N060E", "00N180W", "75N060E", "75N180W"]
    assert TOKEN not in str(m)


def test_duplicate_stamps_take_newest_and_unrelated_files_ignored(tile_server, caplog):
    d = tile_server.tree / "2019/201901/vcmcfg"
    old = next(d.glob("*75N060W*"))
    newer = d / old.name.replace("c201902051200", "c201902281530")
    newer.write_bytes(old.read_bytes())
    (d / "README_dnb.txt").write_text("notes")
    (d / (old.name + ".md5")).write_text("x")
    caplog.set_level(logging.WARNING)
    m = discover_month(
        make_session(), f"{tile_server.url}/{SERVER_PATH}", "2019-01", "vcmcfg", ["75N060W"]
    )
    assert m["tiles"][0]["stamp"] == "201902281530"
    assert "listed twice" in caplog.text and "201902281530" in caplog.text


def test_missing_tile_names_month_and_tile(tile_server):
    next((tile_server.tree / "2019/201903/vcmcfg").glob("*00N060W*")).unlink()
    with pytest.raises(MissingTileError, match=r"2019-03: tile\(s\) 00N060W"):
        discover_month(
            make_session(), f"{tile_server.url}/{SERVER_PATH}", "2019-03", "vcmcfg", ["00N060W"]
        )


def test_latest_month(tile_server):
    assert latest_month(make_session(), f"{tile_server.url}/{SERVER_PATH}", "vcmcfg") == "2019-04"
