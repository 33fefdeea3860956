"""Network and server faults, made to happen for real by the local tile server."""

import time

from conftest import SERVER_PATH, TOKEN
from test_download import tile

from sezlights.devserver import TileServer
from sezlights.download import download
from sezlights.http import make_session


def test_connection_reset_mid_body_resumes(tile_server, tmp_path):
    t = tile(tile_server)
    tile_server.add_faults("75N060W", "reset", "reset")
    download(make_session(token=TOKEN), t["url"], tmp_path / t["name"], t["size"], backoff=0)
    assert (tmp_path / t["name"]).stat().st_size == t["size"]
    # (a reset may discard what was in flight, so the third try may start over)
    statuses = [s for m, p, s in tile_server.requests if p.endswith(t["name"])]
    assert statuses[:2] == [599, 599] and statuses[2] in (200, 206) and len(statuses) == 3


def test_short_body_is_completed_not_accepted(tile_server, tmp_path):
    t = tile(tile_server)
    tile_server.add_faults("75N060W", "cut")
    download(make_session(token=TOKEN), t["url"], tmp_path / t["name"], t["size"], backoff=0)
    src = tile_server.tree / "2019/201901/vcmcfg" / t["name"]
    assert (tmp_path / t["name"]).read_bytes() == src.read_bytes()
    # the second request asked only for the missing part
    statuses = [s for m, p, s in tile_server.requests if p.endswith(t["name"])]
    assert statuses == [599, 206]


def test_stalled_server_times_out_and_resumes(tile_server, tmp_path):
    t = tile(tile_server)
    tile_server.stall_seconds = 5
    tile_server.add_faults("75N060W", "stall")
    start = time.monotonic()
    download(
        make_session(token=TOKEN, retries=0),
        t["url"],
        tmp_path / t["name"],
        t["size"],
        timeout=(2, 1),
        backoff=0,
    )
    took = time.monotonic() - start
    assert (tmp_path / t["name"]).stat().st_size == t["size"]
    assert took < 4, f"a 1 s read timeout should end the stalled try quickly, took {took:.1f}s"


def test_redirect_to_another_host_drops_the_token(tile_server, tmp_path):
    with TileServer(tile_server.root) as mirror:  # no login on the mirror
        tile_server.redirect_base = f"http://localhost:{mirror.server_address[1]}"
        t = tile(tile_server)
        tile_server.add_faults("75N060W", "redirect")
        download(make_session(token=TOKEN), t["url"], tmp_path / t["name"], t["size"], backoff=0)
        assert mirror.auth_headers == [None], "the bearer token followed the redirect"
        assert any(p.endswith(t["name"]) for _, p, _ in mirror.requests)
    assert tile_server.auth_headers == [f"Bearer {TOKEN}"]
    assert (tmp_path / t["name"]).stat().st_size == t["size"]


def test_listing_errors_name_the_url_not_the_token(tile_server):
    from sezlights.discover import list_directory

    tile_server.stop()
    s = make_session(token=TOKEN, retries=1, backoff=0)
    try:
        list_directory(s, f"{tile_server.url}/{SERVER_PATH}/2019/")
    except Exception as exc:  # noqa: BLE001 - the message is what is checked
        assert "could not list" in str(exc) and TOKEN not in str(exc)
    else:
        raise AssertionError("listing a stopped server did not fail")
