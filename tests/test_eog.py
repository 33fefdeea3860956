"""EOG as it really is in 2026, against the local stand-in (sezlights_standin.eog).

Login with the account's own client credentials and 5-minute tokens (shortened to
seconds here), refreshed before they expire and again when the server asks; the
login redirect on every path, listings included; Apaxy listings; every file-name
and member-name variant; and one clear message for each way the login can fail.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time

import numpy as np
import pandas as pd
import pytest
from helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    PASSWORD,
    PIXEL,
    PIXEL_ARCSEC,
    SERVER_PATH,
    USER,
    eog_env,
    eog_standin,
    make_config,
)
from sezlights_standin import eog_tiles
from sezlights_standin.eog import TOKEN_PATH

from sezlights import archive, report, sources
from sezlights.auth import PasswordGrantSession
from sezlights.errors import ConfigError, LoginError, MissingFileError, UserError
from sezlights.sources import eog


def source(server, download=None, **src):
    base = {"base_url": f"{server.url}/{SERVER_PATH}", "auth": {"token_url": server.token_url}}
    return sources.get("eog", make_config(eog={**base, **src}, download=download or {}))


def _sats(m) -> str:
    """A manifest's satellites, as the table's satellite column would have them."""
    return "+".join(sorted({x["satellite"] for x in m.series}))


def session(server, **env):
    return source(server).session(eog_env(**env))


def listing_url(server, month="2019-01"):
    ym = month.replace("-", "")
    return f"{server.url}/{SERVER_PATH}/{ym[:4]}/{ym}/vcmcfg/"


def token_statuses(server) -> list[int]:
    return [st for _, p, st in server.requests if p == TOKEN_PATH]


@pytest.fixture
def fast_token_retries(monkeypatch):
    """Token retries without the real waits (0.5 s, doubling): the same tries, sooner."""
    monkeypatch.setattr(PasswordGrantSession, "retry_backoff", 0.01, raising=False)


# ---------------------------------------------------------------- login


def test_password_grant_with_the_accounts_own_client(eog_server):
    s = session(eog_server)
    assert eog_server.grants == ["password"]
    r = s.get(f"{eog_server.url}/{SERVER_PATH}/2019/201901/vcmcfg/")
    assert r.status_code == 200 and "indexcolname" in r.text


@pytest.mark.parametrize(
    "env, message",
    [
        # what EOG documented until 2025: the public client, now refused
        (
            {"EOG_CLIENT_ID": "", "EOG_CLIENT_SECRET": ""},
            "EOG no longer accepts the public client: set EOG_CLIENT_ID and EOG_CLIENT_SECRET "
            "(ask EOG for your account's client credentials",
        ),
        ({"EOG_CLIENT_ID": "nobody"}, "EOG does not know the client EOG_CLIENT_ID=nobody"),
        ({"EOG_CLIENT_SECRET": "wrong-secret"}, f"EOG refused the secret of client {CLIENT_ID}"),
        ({"EOG_PASSWORD": "wrong-password"}, "EOG rejected the username or password"),
        ({"EOG_USERNAME": "", "EOG_PASSWORD": ""},
         "no credentials; set EOG_USERNAME, EOG_PASSWORD, EOG_CLIENT_ID and EOG_CLIENT_SECRET"),
        ({"EOG_CLIENT_SECRET": ""}, "EOG_CLIENT_ID is set but EOG_CLIENT_SECRET is not"),
    ],
)  # fmt: skip
def test_each_login_failure_says_its_real_cause(eog_server, env, message):
    with pytest.raises(LoginError) as exc:
        session(eog_server, **env)
    text = str(exc.value)
    assert message in text
    assert PASSWORD not in text and CLIENT_SECRET not in text and "wrong-secret" not in text
    assert len(text.splitlines()) == 1


def test_unreachable_token_endpoint(eog_server):
    src = source(eog_server, auth={"token_url": "http://127.0.0.1:9/realms/eog/token"})
    with pytest.raises(LoginError, match="token endpoint could not be reached"):
        src.session(eog_env())


@pytest.mark.parametrize(
    "path, message",
    [
        # a data path: the login redirect, then the login page
        ("/nothing/token", "is not a token endpoint (it answered HTTP 200 OK with a page"),
        ("/realms/other/protocol/openid-connect/token", "(Realm does not exist); check"),
    ],
)
def test_a_token_url_that_is_no_token_endpoint_says_what_it_answered(eog_server, path, message):
    url = eog_server.auth_origin + path
    with pytest.raises(LoginError, match="eog.auth.token_url") as exc:
        source(eog_server, auth={"token_url": url}).session(eog_env())
    assert message in str(exc.value) and len(str(exc.value).splitlines()) == 1
    assert len([p for _, p, _ in eog_server.requests if p == path]) == 1  # not retried


def test_tokens_are_refreshed_before_they_expire(eog_tree):
    with eog_standin(eog_tree, token_lifetime=2) as srv:
        s = session(srv)
        url = f"{srv.url}/{SERVER_PATH}/2019/201901/vcmcfg/"
        for _ in range(3):
            assert s.get(url).status_code == 200
            time.sleep(1.2)
        assert s.get(url).status_code == 200
        assert srv.grants[0] == "password" and "refresh_token" in srv.grants
        assert not any(st == 302 for _, p, st in srv.requests if p.endswith("/vcmcfg/"))


def test_refresh_token_expired_too_logs_in_again(eog_tree):
    with eog_standin(eog_tree, token_lifetime=1, refresh_lifetime=1) as srv:
        s = session(srv)
        time.sleep(1.3)
        r = s.get(f"{srv.url}/{SERVER_PATH}/2019/201901/vcmcfg/")
        assert r.status_code == 200
        assert srv.grants.count("password") == 2


def test_an_expired_token_without_a_refresh_token_logs_in_again(eog_tree):
    """A token response without refresh_token (a Keycloak client can be set up so):
    the next request after expiry gets a new password grant, not authlib's
    InvalidTokenError; so does a renewal on demand."""
    with eog_standin(eog_tree, token_lifetime=1, refresh_tokens=False) as srv:
        s = session(srv)
        assert "refresh_token" not in s.token
        time.sleep(1.1)
        assert s.get(listing_url(srv)).status_code == 200
        assert srv.grants == ["password", "password"]
        s.renew()
        assert srv.grants == ["password"] * 3
        assert not any(st == 302 for _, p, st in srv.requests if p.endswith("/vcmcfg/"))


def test_a_stalled_token_endpoint_never_hangs_a_refresh(eog_tree):
    """The refresh before a request meets a token endpoint that never answers: it gives
    up after download.timeout and tries again, instead of waiting for ever (holding the
    session's lock)."""
    with eog_standin(eog_tree, token_lifetime=1) as srv:
        s = source(srv, download={"timeout": 1}).session(eog_env())
        srv.stall_seconds = 15
        srv.token_faults("hang")
        time.sleep(1.1)
        start = time.monotonic()
        r = s.get(listing_url(srv), timeout=(5, 5))
        took = time.monotonic() - start
        assert r.status_code == 200
        assert took < 5, f"the refresh waited {took:.1f} s for a stalled token endpoint"
        assert srv.grants == ["password", "refresh_token"]
        assert token_statuses(srv) == [200, 599, 200]  # the hung try, then the retry


@pytest.mark.parametrize("fault", ["503", "500", "reset"])
def test_transient_token_endpoint_failures_are_retried(eog_tree, fault):
    """A Keycloak that answers 5xx or drops the connection a few times, at the login and
    at a refresh: the same grant is tried again, and the run goes on."""
    with eog_standin(eog_tree, token_lifetime=1) as srv:
        srv.token_faults(fault, fault)
        s = session(srv)
        srv.token_faults(fault)
        time.sleep(1.1)
        assert s.get(listing_url(srv)).status_code == 200
        broken = 599 if fault == "reset" else int(fault)
        assert token_statuses(srv) == [broken, broken, 200, broken, 200]
        # (a reset comes after the stand-in issued the token: those tokens never arrived)
        last = srv.issued[-1]
        assert last.grant == "refresh_token" and s.token["access_token"] == last.access_token
        assert srv.grants[-1] == "refresh_token" and "password" in srv.grants


@pytest.mark.parametrize(
    "fault, says, not_says",
    [
        ("503", "the server answered HTTP 503 Service Unavailable 4 times", "the network"),
        ("reset", "could not be reached (connection reset 4 times", "HTTP"),
    ],
)
def test_a_token_endpoint_that_keeps_failing_says_what_it_answered(
    eog_server, fast_token_retries, fault, says, not_says
):
    eog_server.token_faults(*[fault] * 10)
    with pytest.raises(LoginError) as exc:
        session(eog_server)
    text = str(exc.value)
    assert says in text and not_says not in text, text
    assert len(text.splitlines()) == 1
    assert PASSWORD not in text and CLIENT_SECRET not in text
    assert len(token_statuses(eog_server)) == 4  # the budget's tries, no more


def test_a_refresh_that_keeps_failing_says_what_the_endpoint_answered(eog_tree, fast_token_retries):
    with eog_standin(eog_tree, token_lifetime=1) as srv:
        s = session(srv)
        srv.token_faults(*["503"] * 10)
        time.sleep(1.1)
        with pytest.raises(LoginError, match="answered HTTP 503 Service Unavailable 4 times"):
            s.get(listing_url(srv))
        assert token_statuses(srv) == [200] + [503] * 4
        assert not any(p.endswith("/vcmcfg/") for _, p, _ in srv.requests)  # never sent


@pytest.mark.parametrize("login", ["EOG_TOKEN", "password grant"])
def test_a_login_redirect_ending_in_404_is_a_login_failure_not_an_unpublished_month(
    eog_server, login
):
    """The data server sends the login to a realm that Keycloak no longer has (404
    "Realm does not exist"): a login failure, never "no tiles are listed"."""
    eog_server.login_realm = "eog-retired"
    src = source(eog_server)
    if login == "EOG_TOKEN":
        s = src.session({"EOG_TOKEN": "not-a-token-eog-issued"})
        message = "EOG refused EOG_TOKEN"
    else:
        s = src.session(eog_env())
        eog_server.add_faults("/2019/201901/vcmcfg/", "login", "login")
        message = "sent its login page for the listing .* although the login succeeded"
    with pytest.raises(LoginError, match=message) as exc:
        src.list_month(s, "2019-01", ["75N060W"])
    assert "not listed" not in str(exc.value) and "not be published" not in str(exc.value)
    assert ("GET", "/realms/eog-retired/protocol/openid-connect/auth", 404) in eog_server.requests


def test_a_listing_answered_by_the_login_page_is_a_login_failure_not_a_missing_tile(eog_server):
    src = source(eog_server)
    stale = src.session({"EOG_TOKEN": "not-a-token-eog-issued"})
    with pytest.raises(LoginError, match="EOG refused EOG_TOKEN") as exc:
        src.list_month(stale, "2019-01", ["75N060W"])
    assert "not listed" not in str(exc.value)
    # the redirect was to Keycloak's login page, and nothing was parsed as a listing
    assert any(st == 302 for _, p, st in eog_server.requests if p.endswith("/vcmcfg/"))


def test_an_expired_eog_token_is_refused_before_any_request():
    import base64
    import json

    payload = base64.urlsafe_b64encode(json.dumps({"exp": time.time() - 60}).encode())
    token = f"eyJhbGciOiJSUzI1NiJ9.{payload.decode().rstrip('=')}.sig"
    src = sources.get("eog", make_config())
    with pytest.raises(LoginError, match="EOG_TOKEN expired at .* set EOG_USERNAME"):
        src.session({"EOG_TOKEN": token})


def test_eog_token_and_account_both_set_say_which_wins_and_what_to_unset(eog_server):
    """EOG_TOKEN wins over the account's four variables (issue 21, item 7): the start says
    so; the check before any job tries the token on a listing, and a refused one names the
    variable to unset instead of asking for the variables already set."""
    src = source(eog_server)
    env = eog_env(EOG_TOKEN="not-a-token-eog-issued")
    said = src.credentials(env)
    assert said.startswith("EOG_TOKEN") and "wins over EOG_USERNAME, EOG_PASSWORD" in said
    assert "unset EOG_TOKEN" in said and CLIENT_SECRET not in said and PASSWORD not in said
    with pytest.raises(LoginError) as exc:
        src.check_login(env)
    text = str(exc.value)
    assert "EOG refused EOG_TOKEN" in text and "unset EOG_TOKEN" in text
    assert "which are set too" in text and "set EOG_USERNAME" not in text
    # only the token alone: set the four variables
    with pytest.raises(LoginError, match="unset EOG_TOKEN and set EOG_USERNAME, EOG_PASSWORD"):
        src.check_login({"EOG_TOKEN": "not-a-token-eog-issued"})
    # a good token passes; the check asked the top listing, nothing else
    eog_server.reset_log()
    src.check_login(eog_env(EOG_TOKEN=eog_server.issue_token(USER, CLIENT_ID)))
    assert [p for _, p, _ in eog_server.requests] == [f"/{SERVER_PATH}/"]


# ---------------------------------------------------------------- listings


@pytest.mark.parametrize("one_line", [False, True])
def test_apaxy_listings_are_read_whatever_their_line_layout(eog_tree, one_line):
    with eog_standin(eog_tree, one_line_rows=one_line, parent_row=True) as srv:
        src = source(srv)
        m = src.list_month(src.session(eog_env()), "2019-02", ["75N060W", "00N060W"])
    assert [g.tile for g in m.granules] == ["75N060W", "00N060W"]
    g = m.granules[0]
    f = g.part("file")
    real = (eog_tree / SERVER_PATH / "2019/201902/vcmcfg" / f.name).stat().st_size
    assert f.url.endswith(f.name) and g.satellite == "npp" and g.read == "download"
    assert abs(f.size - real) <= 0.05 * real + 1024  # human-readable: "437K"


# pyalanysis/pyalanysis tests/viirsdnb_utils.py, mines_dir_listing: EOG's Apaxy listing of
# a (made-up) 1900-09 vcmslcfg folder, copied byte for byte (docs/evidence/eog.md, "Listings")
_FIXTURE_HEAD = """
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
    <title>Index of /nighttime_light/monthly/v10/1900/190009/vcmslcfg</title>
    <link rel="stylesheet" href="/wwwdata/viirs_products/dnb_composites/theme/style.css" type="text/css"/>
    <link rel="shortcut icon" href="/wwwdata/viirs_products/dnb_composites/theme/favicon.ico"/>
    <meta name="viewport" content="width=device-width, initial-scale=1"/>
</head>
<body>
    <div class="wrapper">
        <!-- we open the `wrapper` element here, but close it in the `footer.html` file -->

        <ol class="breadcrumb" id="breadcrumb"></ol>

        <input type="search" id="filter" placeholder="filter contents"/>


        EOG Nighttime Light
        <!--{HEADER-MESSAGE}-->
        <table id="indexlist">
            <tr class="indexhead">
                <th class="indexcolicon">
                    <img src="/wwwdata/viirs_products/dnb_composites/theme/icons/blank.png" alt="[ICO]"/>
                </th>
                <th class="indexcolname">
                    <a href="?C=N;O=D">Name</a>
                </th>
                <th class="indexcollastmod">
                    <a href="?C=M;O=A">Last modified</a>
                </th>
                <th class="indexcolsize">
                    <a href="?C=S;O=A">Size</a>
                </th>
            </tr>
"""  # noqa: E501
_FIXTURE_ROW = """            <tr class="{parity}">
                <td class="indexcolicon">
                    <a href="{name}">
                        <img src="/icons/compressed.gif" alt="[   ]"/>
                    </a>
                </td>
                <td class="indexcolname">
                    <a href="{name}">{name}</a>
                </td>
                <td class="indexcollastmod">2022-01-05 04:19  </td>
                <td class="indexcolsize">{size}</td>
            </tr>
"""
_FIXTURE_FOOT = """        </table>
        <div class="block">
            <!--{FOOTER-MESSAGE}-->

        </div>
        <!--/.postlisting-->

    </div>
    <!--/.wrapper-->

    <div class="footer">
      Apaxy by @adamwhitcroft
    </div>
    <!--/.footer-->
    <script src=/wwwdata/viirs_products/dnb_composites//theme/apaxy.js></script>
</body>
</html>
    """
_FIXTURE_SIZES = {"00N060E": "532M", "00N060W": "516M", "00N180W": "519M",
                  "75N060E": "590M", "75N060W": "605M", "75N180W": "624M"}  # fmt: skip
PUBLIC_LISTING = (
    _FIXTURE_HEAD
    + "".join(
        _FIXTURE_ROW.format(
            parity="odd" if i % 2 else "even",
            name=f"SVDNB_npp_19000901-19000930_{tile}_vcmslcfg_v10_c190010112300.tgz",
            size=size,
        )
        for i, (tile, size) in enumerate(_FIXTURE_SIZES.items())
    )
    + _FIXTURE_FOOT
)


def test_the_parser_reads_the_public_fixture_listing():
    """The public copy of EOG's Apaxy listing (above): six tiles, their sizes, nothing else."""
    entries = eog.parse_listing(PUBLIC_LISTING)
    assert [n for n, _ in entries] == [
        f"SVDNB_npp_19000901-19000930_{t}_vcmslcfg_v10_c190010112300.tgz" for t in _FIXTURE_SIZES
    ]
    assert [s for _, s in entries] == [int(v[:-1]) * 2**20 for v in _FIXTURE_SIZES.values()]


def test_apaxy_rows_on_one_line_are_read_too():
    """Stock Apache writes each row on one line, several rows may share a line, and
    sizes may carry decimals (1.1G): every row is read."""
    rows = "".join(
        f'<tr class="even"><td class="indexcolicon"><a href="{n}"><img src="/icons/compressed.gif"'
        f' alt="[   ]"/></a></td><td class="indexcolname"><a href="{n}">{n}</a></td>'
        f'<td class="indexcollastmod">2022-01-05 04:19  </td><td class="indexcolsize">{s}</td></tr>'
        for n, s in (
            ("SVDNB_npp_19000901-19000930_00N060E_vcmslcfg_v10_c190010112300.tgz", "532M"),
            ("SVDNB_npp_19000901-19000930_00N060W_vcmslcfg_v10_c190010112300.tgz", "1.1G"),
        )
    )
    page = (
        "<html><head><title>Index of /nighttime_light/monthly/v10/1900/190009/vcmslcfg</title>"
        '</head><body><table id="indexlist"><tr class="indexhead"><th class="indexcolname">'
        f'<a href="?C=N;O=D">Name</a></th></tr>{rows}</table></body></html>'
    )
    entries = eog.parse_listing(page)
    assert [n[10:26] for n, _ in entries] == ["19000901-1900093", "19000901-1900093"]
    assert [s for _, s in entries] == [532 * 2**20, int(1.1 * 2**30)]


def test_a_login_page_is_not_a_listing():
    page = "<html><head><title>Sign in to Earth Observation Group</title></head><body>"
    page += '<form id="kc-form-login"><a href="/realms/eog/login-actions/reset">x</a></form>'
    with pytest.raises(eog.NotAListing):
        eog.parse_listing(page)


def test_missing_tile_names_month_tile_and_url(eog_server):
    next((eog_server.tree / "2019/201903/vcmcfg").glob("*00N060W*")).unlink()
    src = source(eog_server)
    with pytest.raises(MissingFileError, match=r"2019-03: tile\(s\) 00N060W of product vcmcfg"):
        src.list_month(src.session(eog_env()), "2019-03", ["00N060W"])


def test_duplicate_stamps_take_the_newest_and_unrelated_files_are_ignored(eog_server, caplog):
    d = eog_server.tree / "2019/201901/vcmcfg"
    old = next(d.glob("*75N060W*"))
    newer = d / old.name.replace("c201902051200", "c201902281530")
    newer.write_bytes(old.read_bytes())
    (d / "README_dnb.txt").write_text("notes")
    (d / (old.name + ".md5")).write_text("x")
    odd = d / old.name.replace("c201902051200", "c2019000000000")  # 13 digits, no date
    odd.write_bytes(old.read_bytes())
    src = source(eog_server)
    m = src.list_month(src.session(eog_env()), "2019-01", ["75N060W"])
    assert m.granules[0].part("file").stamp == "201902281530"
    assert "listed twice" in caplog.text


@pytest.fixture(scope="module")
def variant_tree(tmp_path_factory):
    """The months with the real service's variants: 2014-01 of both products (a 13-digit
    stamp for vcmslcfg), 2013-12 (vcmslcfg folder empty), 2016-09 (avg_rade9 members),
    2022-08 (only under NOAA-20/, SVDNB_j01_ names)."""
    root = tmp_path_factory.mktemp("variants") / SERVER_PATH
    for start, end in (("2013-12", "2014-01"), ("2016-09", "2016-09"), ("2022-07", "2022-09")):
        eog_tiles.make_tree(root, start, end, PIXEL_ARCSEC, product=("vcmcfg", "vcmslcfg"))
    return root.parents[2]


def test_stamps_of_13_digits_and_the_noaa20_month_are_found(variant_tree):
    with eog_standin(variant_tree) as srv:
        slc = source(srv, product="vcmslcfg")
        s = slc.session(eog_env())
        m = slc.list_month(s, "2014-01", ["75N060W"])
        assert m.granules[0].parts[0].stamp == "2015006171539" and _sats(m) == "npp"
        with pytest.raises(MissingFileError, match="no vcmslcfg tiles are listed"):
            slc.list_month(s, "2013-12", ["75N060W"])
        cfg = source(srv)
        m = cfg.list_month(s, "2022-08", ["75N060W", "00N060E"])
        assert _sats(m) == "j01" and m.listing_urls[0].endswith("/2022/202208/NOAA-20/vcmcfg/")
        assert all(g.parts[0].name.startswith("SVDNB_j01_20220801-20220831_") for g in m.granules)
        assert _sats(cfg.list_month(s, "2022-07", ["75N060W"])) == "npp"
        assert m.granules[0].parts[0].stamp == "202209231200"  # the real stamp of 2022-08


def test_the_report_provenance_shows_j01_for_the_noaa20_month(variant_tree, tmp_path):
    """The manifests the listings write for 2022-07..09 give the report's provenance
    npp, j01, npp, and the run summary names both satellites."""
    with eog_standin(variant_tree) as srv:
        src = source(srv)
        s = src.session(eog_env())
        paths = []
        for month in ("2022-07", "2022-08", "2022-09"):
            p = tmp_path / f"{month}.json"
            src.list_month(s, month, ["75N060W", "00N060E"]).write(p)
            paths.append(p)
    tiles = report.provenance_table(paths)
    by_month = tiles.groupby("month").satellite.agg(lambda v: "/".join(sorted(set(v))))
    assert by_month.to_dict() == {"2022-07": "npp", "2022-08": "j01", "2022-09": "npp"}
    aug = tiles[tiles.month == "2022-08"]
    assert aug.file.str.startswith("SVDNB_j01_20220801-20220831_").all()
    assert (aug.creation_stamp == "202209231200").all()
    zsum = tmp_path / "zones_summary.json"
    zsum.write_text(json.dumps({"zones": 1}))
    shown = pd.DataFrame({"rank": [], "zone_id": [], "why": []})
    months = ["2022-07", "2022-08", "2022-09"]
    page = report.run_summary_html(
        zsum, {}, months, tiles, shown, manifests=paths, tiles_needed={"eog": ["75N060W"]}
    )
    assert "<td>Suomi NPP, NOAA-20</td>" in page  # the source's satellites
    assert "<td>vcmcfg (NOAA-20)</td>" in page and "<td>vcmcfg (Suomi NPP)</td>" in page


def test_the_satellite_comes_from_the_file_name_in_either_folder(eog_server):
    """SVDNB_j01_ names in the usual {product}/ folder, SVDNB_npp_ names under
    NOAA-20/{product}/: both are listed, each with the satellite its name says."""
    jan = eog_server.tree / "2019/201901/vcmcfg"
    for f in jan.iterdir():
        f.rename(f.with_name(f.name.replace("SVDNB_npp_", "SVDNB_j01_")))
    feb = eog_server.tree / "2019/201902"
    (feb / "NOAA-20").mkdir()
    shutil.move(feb / "vcmcfg", feb / "NOAA-20" / "vcmcfg")
    src = source(eog_server)
    s = src.session(eog_env())
    m = src.list_month(s, "2019-01", ["75N060W", "00N060W"])
    assert m.listing_urls[0].endswith("/2019/201901/vcmcfg/") and _sats(m) == "j01"
    assert [g.satellite for g in m.granules] == ["j01", "j01"]
    assert all(g.parts[0].name.startswith("SVDNB_j01_20190101-20190131_") for g in m.granules)
    m = src.list_month(s, "2019-02", ["75N060W"])
    assert m.listing_urls[0].endswith("/2019/201902/NOAA-20/vcmcfg/") and _sats(m) == "npp"
    g = m.granules[0]
    assert g.parts[0].name.startswith("SVDNB_npp_") and g.satellite == "npp"


def test_a_13_digit_stamp_is_the_date_with_a_stray_zero():
    """c2015006171539 (2014-01 vcmslcfg) is read as 2015-06-17 15:39: the same month's
    vcmcfg tiles are c201506171538 (docs/evidence/eog.md, "Creation stamps")."""
    assert eog.stamp_time("2015006171539") == dt.datetime(2015, 6, 17, 15, 39)
    assert eog.stamp_time("201506171538") < eog.stamp_time("2015006171539")
    assert eog.stamp_time("2015006171539") < eog.stamp_time("201507201053")  # 2014-02's
    assert eog.stamp_time("20150617153900") == dt.datetime(2015, 6, 17, 15, 39)
    assert eog.stamp_time("201506171539") == eog.stamp_time("2015006171539")


@pytest.mark.parametrize(
    "odd", ["2015999999999", "2015106171539", "201513011200", "20151301120000", "abc"]
)
def test_odd_stamps_are_never_an_error_and_still_order(odd):
    assert eog.stamp_time(odd) is None
    ordered = sorted([odd, "201506171538", "2015006171539"], key=eog.stamp_key)
    assert ordered.index("201506171538") < ordered.index("2015006171539")


def test_vcmslcfg_before_2014_is_a_config_error():
    from sezlights import config

    cfg = make_config(eog={"product": "vcmslcfg"}, months={"start": "2013-06", "end": "2014-02"})
    with pytest.raises(
        ConfigError, match="2013-06 is before 2014-01, the first month of EOG product vcmslcfg"
    ):
        config.months(cfg)  # fmt: skip


# ---------------------------------------------------------------- archives


def test_old_member_names_and_extra_members_read_like_plain_archives(variant_tree, tmp_path):
    """avg_rade9.tif (no h) and the extra cvg.tif member, wherever it comes, give the
    same bands as a plain archive of the same month and tile."""
    src = sources.get("eog", make_config())
    month, tile = "2016-09", "00N060W"
    variant = next((variant_tree / SERVER_PATH / "2016/201609/vcmcfg").glob(f"*{tile}*"))
    names = list(archive.verify(variant))
    assert any(n.endswith(".avg_rade9.tif") for n in names)
    assert any(n.endswith(".cvg.tif") and not n.endswith("cf_cvg.tif") for n in names)
    name = eog_tiles.archive_name(month, tile, "vcmcfg", "201610051200")
    plain = eog_tiles.write_archive(tmp_path / name, month, tile, PIXEL, plain=True)
    src.verify(variant)
    rows = np.arange(src.tiles.shape(tile)[0])
    a, b = (
        {band.kind: np.stack([v for _, v in band.rows(rows)]) for band in src.bands(path)}
        for path in (variant, plain)
    )
    for kind in ("radiance", "coverage"):
        np.testing.assert_array_equal(a[kind], b[kind])


def test_an_archive_without_radiance_is_corrupt(tmp_path):
    import io
    import tarfile

    from sezlights.errors import CorruptFileError

    arc = tmp_path / "SVDNB_npp_20190101-20190131_75N060W_vcmcfg_v10_c201902051200.tgz"
    with tarfile.open(arc, "w:gz") as tar:
        info = tarfile.TarInfo("x.cf_cvg.tif")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    with pytest.raises(CorruptFileError, match="holds no avg_rade9h.tif"):
        sources.get("eog", make_config()).verify(arc)


# ---------------------------------------------------------------- downloads


@pytest.mark.parametrize("refresh_tokens", [True, False])
def test_a_download_cut_after_its_token_expired_resumes_with_a_new_token(
    eog_tree, tmp_path, refresh_tokens
):
    """With a refresh token the resume carries a refreshed token; without one (the
    token response had none), a token from a new password grant."""
    with eog_standin(eog_tree, token_lifetime=1.5, refresh_tokens=refresh_tokens) as srv:
        src = source(srv)
        s = src.session(eog_env())
        m = src.list_month(s, "2019-01", ["75N060W"])
        srv.stall_seconds = 2.0
        srv.add_faults("75N060W", "stall")  # half the body, then 2 s of silence
        entry = m.granules[0].parts[0]
        src = source(srv, download={"timeout": 1})
        dest = src.download(s, entry, tmp_path / entry.name)
        real = eog_tree / SERVER_PATH / "2019/201901/vcmcfg" / entry.name
        assert dest.read_bytes() == real.read_bytes()
        gets = [st for _, p, st in srv.requests if p.endswith(entry.name)]
        # the cut try (599), then the resume: after the 1.5 s token expired, renewed first
        assert gets[0] == 599 and gets[-1] == 206 and 302 not in gets
        assert srv.grants[-1] == ("refresh_token" if refresh_tokens else "password")
        cut, resumed = [(t, tok) for t, _, p, tok in srv.bearer_log if p.endswith(entry.name)]
        assert srv.issued_at(resumed[1]).at > cut[0]  # a token issued after the cut


def test_user_errors_never_contain_secrets(eog_server):
    for env in ({"EOG_PASSWORD": "x-pw-x"}, {"EOG_CLIENT_SECRET": "x-sec-x"}):
        with pytest.raises(UserError) as exc:  # a wrong secret must be refused, and said so
            session(eog_server, **env)
        assert "x-pw-x" not in str(exc.value) and "x-sec-x" not in str(exc.value)
    assert USER  # (the user name is not a secret, but is not printed either)
