"""Network and server faults, made to happen for real by the stand-ins (real sockets).

Each fault is injected by the EOG or LAADS stand-in (``add_faults``): a TCP reset
mid-body, a body shorter than its ``Content-Length``, a server that stalls, a
redirect to another host, a server that is not there at all.
"""

from __future__ import annotations

import time

import pytest
from helpers import SOURCES, make_site
from sezlights_standin.httpserver import BROKEN, OTHER_HOST, StandinServer

from sezlights.errors import LoginError, MissingFileError, UserError
from sezlights.http import make_session


@pytest.fixture(params=SOURCES)
def site(request):
    return make_site(request, request.param)


def test_connection_reset_mid_body_resumes(site, tmp_path):
    site.add_faults("reset", "reset")
    site.fetch(tmp_path)
    assert (tmp_path / site.file).read_bytes() == site.real.read_bytes()
    # (a reset may discard what was in flight, so the third try may start over)
    statuses = site.statuses()
    assert statuses[:2] == [BROKEN, BROKEN] and statuses[2] in (200, 206)
    assert len(statuses) == 3


def test_short_body_is_completed_not_accepted(site, tmp_path):
    site.add_faults("cut")
    site.fetch(tmp_path)
    assert (tmp_path / site.file).read_bytes() == site.real.read_bytes()
    # the body stopped half way: the second request asked only for the rest (206)
    assert site.statuses() == [BROKEN, 206]


def test_stalled_server_times_out_and_resumes(site, tmp_path):
    site.server.stall_seconds = 5
    site.add_faults("stall")
    start = time.monotonic()
    site.fetch(tmp_path, timeout=(2, 1))
    took = time.monotonic() - start
    assert (tmp_path / site.file).read_bytes() == site.real.read_bytes()
    assert site.statuses() == [BROKEN, 206]
    assert took < 4, f"a 1 s read timeout should end the stalled try quickly, took {took:.1f}s"


def test_a_stalled_token_endpoint_during_a_download_times_out_and_the_file_arrives(
    request, tmp_path
):
    """The file answers 401, so the download renews its token, and the token endpoint
    never answers the refresh: it is given up after download.timeout and tried again,
    and the file arrives long before the stall would have ended."""
    site = make_site(request, "eog", timeout=1)
    site.server.stall_seconds = 12
    site.add_faults("401")
    site.server.token_faults("hang")
    start = time.monotonic()
    site.fetch(tmp_path)
    took = time.monotonic() - start
    assert (tmp_path / site.file).read_bytes() == site.real.read_bytes()
    assert site.statuses() == [401, 200]
    assert site.server.grants == ["password", "refresh_token"]
    assert took < 6, f"the renewal waited {took:.1f} s for a stalled token endpoint"


@pytest.mark.parametrize("which", ["eog", "blackmarble"])  # the cloud's own: test_blackmarble
def test_redirect_to_another_host_drops_the_token(request, which, tmp_path):
    site = make_site(request, which)
    with StandinServer(site.server.root) as mirror:  # a plain file server, no login
        site.server.redirect_base = f"http://{OTHER_HOST}:{mirror.port}"
        site.add_faults("redirect")
        site.fetch(tmp_path)
        assert mirror.auth_headers == [None], "the bearer token followed the redirect"
        assert [s for _, p, s in mirror.requests if p.endswith(site.file)] == [200]
    assert site.server.auth_headers == [f"Bearer {site.token}"]
    assert site.statuses() == [302]
    assert (tmp_path / site.file).read_bytes() == site.real.read_bytes()


@pytest.mark.parametrize("which", ["eog", "blackmarble"])  # CMR's: test_blackmarble.py
def test_listing_errors_name_the_url_not_the_token(request, which):
    site = make_site(request, which)
    token = site.token
    make_session(site.session, retries=0)  # fail at once (the default retries take 30 s)
    site.server.stop()  # nothing listens on its port any more
    with pytest.raises(UserError) as exc:
        site.src.list_month(site.session, "2019-02", [site.tile])
    text = str(exc.value)
    url = site.server.url
    assert text.startswith(f"could not list {url}/") and "(connection refused)" in text
    key = "eog.base_url" if site.name == "eog" else "blackmarble.ladsweb_url"
    assert f"check {key} and the network" in text
    assert token not in text


# ---------------------------------------------------------------- Black Marble listings


@pytest.fixture
def bm(request):
    return make_site(request, "blackmarble")


def test_a_listing_with_a_refused_token_is_a_login_error_not_a_missing_month(bm):
    """LAADS answers any request with a wrong token by its Earthdata login redirect."""
    session = bm.static_session("expired-or-wrong-token")
    with pytest.raises(LoginError, match="LAADS refused EARTHDATA_TOKEN") as exc:
        bm.src.list_month(session, "2019-01", [bm.tile])
    assert "not published" not in str(exc.value) and "expired-or-wrong-token" not in str(exc.value)
    assert [s for _, p, s in bm.server.requests if p.endswith("/001.csv")] == [302]


def test_an_unpublished_month_names_its_url_and_absent_tiles_are_a_warning(bm, caplog):
    url = f"{bm.server.url}/archive/allData/5200/VNP46A3/2019/121/"
    with pytest.raises(MissingFileError, match=f"2019-05: VNP46A3 .* is not published at {url}"):
        bm.src.list_month(bm.session, "2019-05", [bm.tile])
    # h28v07 (Thailand to Vietnam) is left out of the test tree: a tile a month's listing
    # lacks is recorded and its pixels count as not observed
    m = bm.src.list_month(bm.session, "2019-01", [bm.tile, "h28v07"])
    assert [g.tile for g in m.granules] == [bm.tile]
    assert [a["tile"] for a in m.absent] == ["h28v07"]
    assert "tile(s) h28v07 (VNP46A3) are not published" in caplog.text
