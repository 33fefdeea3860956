"""EOG as it really is in 2026, against the local stand-in (sezlights.standin.eog).

Login with the account's own client credentials and 5-minute tokens (shortened to
seconds here), refreshed before they expire and again when the server asks; the
login redirect on every path, listings included; Apaxy listings; every file-name
and member-name variant; and one clear message for each way the login can fail.
"""

from __future__ import annotations

import time

import numpy as np
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

from sezlights import archive, sources
from sezlights.errors import ConfigError, LoginError, MissingFileError, UserError
from sezlights.sources import eog
from sezlights.standin import eog_tiles


def source(server, **src):
    base = {"base_url": f"{server.url}/{SERVER_PATH}", "auth": {"token_url": server.token_url}}
    return sources.get("eog", make_config(source={**base, **src}))


def session(server, **env):
    return source(server).session(eog_env(**env))


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


# ---------------------------------------------------------------- listings


@pytest.mark.parametrize("one_line", [False, True])
def test_apaxy_listings_are_read_whatever_their_line_layout(eog_tree, one_line):
    with eog_standin(eog_tree, one_line_rows=one_line, parent_row=True) as srv:
        src = source(srv)
        m = src.list_month(src.session(eog_env()), "2019-02", ["75N060W", "00N060W"])
    assert [f["tile"] for f in m["files"]] == ["75N060W", "00N060W"]
    assert m["tiles_not_needed"] == ["00N060E", "00N180W", "75N060E", "75N180W"]
    f = m["files"][0]
    real = (eog_tree / SERVER_PATH / "2019/201902/vcmcfg" / f["name"]).stat().st_size
    assert f["url"].endswith(f["name"]) and f["satellite"] == "npp"
    assert abs(f["size"] - real) <= 0.05 * real + 1024  # human-readable: "437K"


def test_the_parser_reads_the_public_fixture_listing():
    """The Apaxy listing quoted by pyalanysis/pyalanysis tests/viirsdnb_utils.py, with its
    sizes written as 532M: six tiles, approximate sizes, nothing else."""
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
    src = source(eog_server)
    m = src.list_month(src.session(eog_env()), "2019-01", ["75N060W"])
    assert m["files"][0]["stamp"] == "201902281530"
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
        assert m["files"][0]["stamp"] == "2015006171539" and m["satellite"] == "npp"
        with pytest.raises(MissingFileError, match="no vcmslcfg tiles are listed"):
            slc.list_month(s, "2013-12", ["75N060W"])
        cfg = source(srv)
        m = cfg.list_month(s, "2022-08", ["75N060W", "00N060E"])
        assert m["satellite"] == "j01" and m["listing_url"].endswith("/2022/202208/NOAA-20/vcmcfg/")
        assert all(f["name"].startswith("SVDNB_j01_20220801-20220831_") for f in m["files"])
        assert cfg.list_month(s, "2022-07", ["75N060W"])["satellite"] == "npp"


def test_stamps_order_by_time_not_by_length():
    assert eog.stamp_time("2015006171539") < eog.stamp_time("201502051200")
    assert eog.stamp_time("201501061200") < eog.stamp_time("2015006171539")


def test_vcmslcfg_before_2014_is_a_config_error():
    from sezlights import config

    cfg = make_config(source={"product": "vcmslcfg"}, months={"start": "2013-06", "end": "2014-02"})
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


def test_a_download_cut_after_its_token_expired_resumes_with_a_new_token(eog_tree, tmp_path):
    with eog_standin(eog_tree, token_lifetime=1.5) as srv:
        src = source(srv)
        s = src.session(eog_env())
        m = src.list_month(s, "2019-01", ["75N060W"])
        srv.stall_seconds = 2.0
        srv.add_faults("75N060W", "stall")  # half the body, then 2 s of silence
        entry = m["files"][0]
        cfg = make_config(download={"timeout": 1})
        src = sources.get("eog", dict(cfg, source=src.config["source"]))
        dest = src.download(s, entry, tmp_path / entry["name"])
        real = eog_tree / SERVER_PATH / "2019/201901/vcmcfg" / entry["name"]
        assert dest.read_bytes() == real.read_bytes()
        gets = [st for _, p, st in srv.requests if p.endswith(entry["name"])]
        # the cut try (599), then the resume: after the 1.5 s token expired, refreshed first
        assert gets[0] == 599 and gets[-1] == 206 and 302 not in gets
        assert "refresh_token" in srv.grants


def test_user_errors_never_contain_secrets(eog_server):
    for env in ({"EOG_PASSWORD": "x-pw-x"}, {"EOG_CLIENT_SECRET": "x-sec-x"}):
        try:
            session(eog_server, **env)
        except UserError as exc:
            assert "x-pw-x" not in str(exc) and "x-sec-x" not in str(exc)
    assert USER  # (the user name is not a secret, but is not printed either)
