"""The stand-in services, over real HTTP: EOG + Keycloak, LAADS + Earthdata, and their files.

Every check here is against a real socket on 127.0.0.1 (no mocks). What each behaviour
is modelled on is in the modules' docstrings (docs/evidence/eog.md, docs/evidence/blackmarble.md).
"""

from __future__ import annotations

import base64
import json
import re
import socket
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import h5py
import numpy as np
import pytest
import requests
from helpers import EARTHDATA_TOKEN
from sezlights_standin import blackmarble_tiles as bmt
from sezlights_standin import eog_tiles, world
from sezlights_standin.eog import AUTH_PATH, EOGServer, apache_size
from sezlights_standin.httpserver import BROKEN, StandinServer
from sezlights_standin.laads import LAADSServer

from sezlights.sources import blackmarble as bm_source
from sezlights.sources import eog as eog_source

PREFIX = "/nighttime_light/monthly/v10"
COARSE = 3600  # 1 degree: small, fast EOG tiles for the server tests
FINE = 600  # the tests' usual pixel: the cloudy box and the cities are resolved
BAD_CLIENT = "Invalid client or Invalid client credentials"
EDL_TOKEN = "edl-test-token-8d1f"


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def small_eog_tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("eog") / "v10"
    eog_tiles.make_tree(root, "2019-01", "2019-02", COARSE, tiles=("75N060W", "00N060W"))
    return root


@pytest.fixture
def eog(small_eog_tree):
    with EOGServer(small_eog_tree, prefix=PREFIX) as srv:
        yield srv


@pytest.fixture(scope="module")
def small_laads_tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("laads")
    bmt.make_tree(root, "2019-01", "2019-02", FINE, tiles=["h21v09", "h20v12"])
    return root


@pytest.fixture
def laads(small_laads_tree):
    with LAADSServer(small_laads_tree, token=EDL_TOKEN) as srv:
        yield srv


def grant(srv, **form):
    base = {
        "client_id": "my-client",
        "client_secret": "my-secret",
        "grant_type": "password",
        "username": "alice",
        "password": "pw",
    }
    base.update(form)
    return requests.post(srv.token_url, data={k: v for k, v in base.items() if v is not None})


def bearer(srv) -> dict:
    r = grant(srv)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def jwt_payload(token: str) -> dict:
    parts = token.split(".")
    assert len(parts) == 3 and all(parts)
    pad = "=" * (-len(parts[1]) % 4)
    return json.loads(base64.urlsafe_b64decode(parts[1] + pad))


def a_file(srv, month="2019-01", tile="75N060W") -> str:
    p = eog_tiles.archive_path(srv.root, month, tile)
    return f"{PREFIX}/{p.relative_to(srv.root).as_posix()}"


class Page(HTMLParser):
    """The parts of an HTML page the tests look at: title, tables, forms, links."""

    def __init__(self, text: str):
        super().__init__()
        self.title, self.tables, self.rows, self.forms, self.inputs, self.links = (
            "",
            [],
            [],
            [],
            [],
            [],
        )
        self._cell = None
        self._in_title = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "title":
            self._in_title = True
        elif tag == "table":
            self.tables.append(a.get("id"))
        elif tag == "tr":
            self.rows.append({"class": a.get("class"), "cells": []})
        elif tag in ("td", "th"):
            self._cell = {"tag": tag, "class": a.get("class"), "text": "", "hrefs": [], "imgs": []}
            self.rows[-1]["cells"].append(self._cell)
        elif tag == "form":
            self.forms.append(a)
        elif tag == "input":
            self.inputs.append(a)
        elif tag == "a":
            self.links.append(a.get("href"))
            if self._cell is not None:
                self._cell["hrefs"].append(a.get("href"))
        elif tag == "img" and self._cell is not None:
            self._cell["imgs"].append(a)

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._cell = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if self._cell is not None:
            self._cell["text"] += data


def listing_entries(text: str) -> dict[str, dict]:
    """Parse an Apaxy listing strictly (the fixture's structure) into {name: cells}."""
    page = Page(text)
    assert page.tables == ["indexlist"]
    head, *rows = page.rows
    assert head["class"] == "indexhead"
    assert [(c["tag"], c["class"]) for c in head["cells"]] == [
        ("th", "indexcolicon"),
        ("th", "indexcolname"),
        ("th", "indexcollastmod"),
        ("th", "indexcolsize"),
    ]
    assert [c["hrefs"] for c in head["cells"][1:]] == [["?C=N;O=D"], ["?C=M;O=A"], ["?C=S;O=A"]]
    out = {}
    for i, row in enumerate(rows):
        assert row["class"] == ("even" if i % 2 == 0 else "odd")
        icon, name, lastmod, size = row["cells"]
        assert [c["class"] for c in row["cells"]] == [
            "indexcolicon",
            "indexcolname",
            "indexcollastmod",
            "indexcolsize",
        ]
        assert icon["hrefs"] == name["hrefs"] and len(icon["imgs"]) == 1
        out[name["text"].strip()] = {
            "href": name["hrefs"][0],
            "lastmod": lastmod["text"],
            "size": size["text"],
            "img": icon["imgs"][0],
        }
    return out


# --------------------------------------------------------------------- token endpoint


def test_password_grant_answers_like_keycloak(eog):
    r1, r2 = grant(eog), grant(eog)
    assert r1.status_code == 200 and r1.headers["Content-Type"] == "application/json"
    body = r1.json()
    assert set(body) == {
        "access_token",
        "expires_in",
        "refresh_expires_in",
        "refresh_token",
        "token_type",
        "not-before-policy",
        "session_state",
        "scope",
    }
    assert (body["expires_in"], body["refresh_expires_in"]) == (300, 1800)
    assert (body["token_type"], body["not-before-policy"], body["scope"]) == (
        "Bearer",
        0,
        "email profile",
    )
    claims = jwt_payload(body["access_token"])
    assert claims["exp"] - claims["iat"] == 300
    assert (claims["azp"], claims["preferred_username"]) == ("my-client", "alice")
    assert body["access_token"] != r2.json()["access_token"]  # random per grant
    assert eog.grants == ["password", "password"]
    assert urlsplit(eog.token_url).hostname == "localhost"  # Keycloak is another host


def test_refresh_grant(eog):
    first = grant(eog).json()
    r = grant(
        eog,
        grant_type="refresh_token",
        refresh_token=first["refresh_token"],
        username=None,
        password=None,
    )
    assert r.status_code == 200
    assert r.json()["access_token"] != first["access_token"]
    assert eog.grants == ["password", "refresh_token"]
    listing = requests.get(
        f"{eog.url}/2019/",
        headers={"Authorization": f"Bearer {r.json()['access_token']}"},
        allow_redirects=False,
    )
    assert listing.status_code == 200


@pytest.mark.parametrize(
    "form, status, error, description",
    [
        ({"client_id": None}, 400, "invalid_client", "Missing client_id parameter"),
        (
            {"client_id": "eogdata_oidc", "client_secret": "2677ad81-521b-4869-8480-6d05b9e57d48"},
            401,
            "invalid_client",
            BAD_CLIENT,
        ),
        ({"client_id": "nobody"}, 401, "invalid_client", BAD_CLIENT),
        ({"client_secret": "wrong"}, 401, "unauthorized_client", BAD_CLIENT),
        ({"client_secret": None}, 401, "unauthorized_client", BAD_CLIENT),
        (
            {"client_id": "eogdata-new-apache", "client_secret": None},
            401,
            "unauthorized_client",
            BAD_CLIENT,
        ),
        ({"password": "wrong"}, 401, "invalid_grant", "Invalid user credentials"),
        ({"username": "mallory"}, 401, "invalid_grant", "Invalid user credentials"),
        (
            {"grant_type": "refresh_token", "refresh_token": "not.a.token"},
            400,
            "invalid_grant",
            "Token is not active",
        ),
        ({"grant_type": None}, 400, "invalid_request", "Missing form parameter: grant_type"),
    ],
)
def test_token_errors(eog, form, status, error, description):
    r = grant(eog, **form)
    assert r.status_code == status
    assert r.json() == {"error": error, "error_description": description}
    assert eog.grants == []


def test_issue_token_without_http(eog):
    token = eog.issue_token()
    r = requests.get(f"{eog.url}/2019/", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and eog.grants == []
    assert jwt_payload(token)["preferred_username"] == "alice"


def test_tokens_expire(small_eog_tree):
    with EOGServer(small_eog_tree, prefix=PREFIX, token_lifetime=1, refresh_lifetime=1.6) as srv:
        first = grant(srv).json()
        auth = {"Authorization": f"Bearer {first['access_token']}"}
        url = f"{srv.url}/2019/"
        assert first["expires_in"] == 1
        assert requests.get(url, headers=auth, allow_redirects=False).status_code == 200
        time.sleep(1.1)
        assert requests.get(url, headers=auth, allow_redirects=False).status_code == 302
        again = grant(
            srv,
            grant_type="refresh_token",
            refresh_token=first["refresh_token"],
            username=None,
            password=None,
        )
        assert again.status_code == 200
        auth = {"Authorization": f"Bearer {again.json()['access_token']}"}
        assert requests.get(url, headers=auth, allow_redirects=False).status_code == 200
        time.sleep(0.6)  # the first refresh token (1.6 s) is past its life now
        late = grant(
            srv,
            grant_type="refresh_token",
            refresh_token=first["refresh_token"],
            username=None,
            password=None,
        )
        assert late.status_code == 400
        assert late.json() == {"error": "invalid_grant", "error_description": "Token is not active"}


# ------------------------------------------------------------- login redirect and page

LOCATION = re.compile(
    r"^response_type=code&scope=openid%20email&client_id=eogdata-new-apache&state=[\w-]+"
    r"&redirect_uri=http%3A%2F%2F127\.0\.0\.1%3A\d+%2Foauth2callback&nonce=[\w-]+$"
)


@pytest.mark.parametrize("what", ["listing", "file", "folder without slash", "missing"])
@pytest.mark.parametrize("auth", [None, "Bearer forged.token.value"])
def test_no_valid_token_redirects_to_the_login(eog, what, auth):
    path = {
        "listing": f"{PREFIX}/2019/201901/",
        "file": a_file(eog),
        "folder without slash": f"{PREFIX}/2019/201901",
        "missing": f"{PREFIX}/2019/209901/nothing.tgz",
    }[what]
    headers = {"Authorization": auth} if auth else {}
    r = requests.get(eog.origin + path, headers=headers, allow_redirects=False)
    assert r.status_code == 302
    loc = urlsplit(r.headers["Location"])
    assert (loc.scheme, loc.hostname, loc.port, loc.path) == (
        "http",
        "localhost",
        eog.port,
        AUTH_PATH,
    )
    assert LOCATION.match(loc.query), loc.query
    assert "The document has moved" in r.text and r.headers["Content-Type"].startswith("text/html")
    assert eog.requests == [("GET", path, 302)]
    assert eog.auth_headers == ([] if what in ("listing", "folder without slash") else [auth])


def test_login_page_after_the_redirect(eog):
    r = requests.get(eog.origin + a_file(eog))  # requests follows the 302
    assert r.status_code == 200 and r.url.startswith(eog.auth_url)
    page = Page(r.text)
    assert page.title == "Sign in to Earth Observation Group"
    (form,) = page.forms
    assert form["id"] == "kc-form-login" and form["method"] == "post"
    assert form["action"].startswith(f"{eog.auth_origin}/realms/eog/login-actions/authenticate?")
    assert {"username", "password"} <= {i.get("name") for i in page.inputs}
    links = [h for h in page.links if h and h != "#"]
    assert any("reset-credentials" in h for h in links) and any("registration" in h for h in links)
    assert sum("kc_locale=" in h for h in links) >= 10
    # client_data carries the callback and state of the redirect (eog.md §2)
    data = parse_qs(urlsplit(form["action"]).query)["client_data"][0]
    decoded = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    assert decoded["ru"] == f"{eog.origin}/oauth2callback" and decoded["rt"] == "code"
    # posting the form is the browser flow, not modelled: Keycloak's cookie error
    post = requests.post(form["action"].replace("&amp;", "&"), data={"username": "alice"})
    assert post.status_code == 400 and "kc-feedback-text" in post.text


def test_unauthorized_401_option(small_eog_tree):
    with EOGServer(small_eog_tree, prefix=PREFIX, unauthorized="401") as srv:
        r = requests.get(f"{srv.url}/2019/", allow_redirects=False)
        assert r.status_code == 401


# ----------------------------------------------------------------------- listings


def test_apaxy_listing_structure(eog):
    auth = bearer(eog)
    r = requests.get(f"{eog.url}/2019/201901/vcmcfg/", headers=auth)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert Page(r.text).title == f"Index of {PREFIX}/2019/201901/vcmcfg"
    entries = listing_entries(r.text)
    folder = eog.root / "2019/201901/vcmcfg"
    assert sorted(entries) == sorted(p.name for p in folder.iterdir())
    for name, e in entries.items():
        assert e["href"] == name  # bare relative names, as in the fixture
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d  ", e["lastmod"])
        assert e["size"] == apache_size((folder / name).stat().st_size)
        assert e["img"] == {"src": "/icons/compressed.gif", "alt": "[   ]"}
    # rows spread over several lines, as in the fixture
    assert any("<tr class=" in line and "</tr>" not in line for line in r.text.splitlines())
    month = listing_entries(requests.get(f"{eog.url}/2019/201901/", headers=auth).text)
    assert month["vcmcfg/"]["size"].strip() == "-" and month["vcmcfg/"]["href"] == "vcmcfg/"


def test_one_line_rows_parse_the_same(small_eog_tree):
    with EOGServer(small_eog_tree, prefix=PREFIX, one_line_rows=True) as srv:
        text = requests.get(f"{srv.url}/2019/201901/vcmcfg/", headers=bearer(srv)).text
    rows = [
        line
        for line in text.splitlines()
        if '<tr class="even"' in line or '<tr class="odd"' in line
    ]
    assert rows and all(line.rstrip().endswith("</tr>") for line in rows)
    entries = listing_entries(text)
    assert sorted(entries) == sorted(
        p.name for p in (small_eog_tree / "2019/201901/vcmcfg").iterdir()
    )


def test_listing_sizes_like_apache(tmp_path):
    sizes = {"a.tgz": 532 * 2**20, "b.tgz": int(1.1 * 2**30), "c.tgz": 45 * 1024, "d.txt": 512}
    for name, size in sizes.items():
        with open(tmp_path / name, "wb") as f:
            f.truncate(size)  # sparse: no disk used
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").write_text("x")
    with EOGServer(tmp_path, parent_row=True) as srv:
        text = requests.get(f"{srv.url}/", headers=bearer(srv)).text
    entries = listing_entries(text)
    assert {k: v["size"].strip() for k, v in entries.items()} == {
        "Parent Directory": "-",
        "a.tgz": "532M",
        "b.tgz": "1.1G",
        "c.tgz": "45K",
        "d.txt": "512",
        "sub/": "-",
    }
    assert list(entries)[0] == "Parent Directory"


def test_folder_redirect_missing_path_and_outside_prefix(eog):
    auth = bearer(eog)
    r = requests.get(f"{eog.url}/2019/201901", headers=auth, allow_redirects=False)
    assert r.status_code == 301 and r.headers["Location"] == f"{eog.url}/2019/201901/"
    assert requests.get(f"{eog.url}/2019/209913/", headers=auth).status_code == 404
    assert requests.get(f"{eog.origin}/elsewhere/", headers=auth).status_code == 404


# ----------------------------------------------------------------- files and Range


def test_range_requests(eog):
    auth = bearer(eog)
    path = a_file(eog)
    data = (eog.root / path[len(PREFIX) + 1 :]).read_bytes()
    size = len(data)
    url = eog.origin + path
    head = requests.head(url, headers=auth)
    assert head.headers["Content-Length"] == str(size) and head.headers["Accept-Ranges"] == "bytes"
    r = requests.get(url, headers={**auth, "Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == data[10:20]
    assert r.headers["Content-Range"] == f"bytes 10-19/{size}"
    r = requests.get(url, headers={**auth, "Range": f"bytes={size - 7}-"})
    assert r.status_code == 206 and r.content == data[-7:]
    r = requests.get(url, headers={**auth, "Range": "bytes=-5"})
    assert r.status_code == 206 and r.content == data[-5:]
    r = requests.get(url, headers={**auth, "Range": f"bytes={size}-"})
    assert r.status_code == 416 and r.headers["Content-Range"] == f"bytes */{size}"
    r = requests.get(url, headers=auth)
    assert r.status_code == 200 and r.content == data
    assert eog.file_gets() == [path] * 4  # the three 206 and the 200, not the 416 or HEAD
    assert eog.auth_headers == [auth["Authorization"]] * 6


@pytest.mark.parametrize(
    "fault, status", [("503", 503), ("500", 500), ("401", 401), ("403", 403), ("html", 200)]
)
def test_status_faults_once_each(eog, fault, status):
    auth = bearer(eog)
    url = eog.origin + a_file(eog)
    eog.add_faults("75N060W", fault)
    r = requests.get(url, headers=auth, allow_redirects=False)
    assert r.status_code == status
    if fault == "503":
        assert r.headers["Retry-After"] == "0"
    if fault == "html":
        assert r.headers["Content-Type"].startswith("text/html") and "kc-form-login" in r.text
    again = requests.get(url, headers=auth)
    assert again.status_code == 200 and again.content[:2] == b"\x1f\x8b"


def test_redirect_and_login_faults(eog):
    auth = bearer(eog)
    path = a_file(eog)
    with StandinServer(eog.root, prefix=PREFIX) as mirror:  # a plain server, no login
        eog.redirect_base = mirror.other_origin
        eog.add_faults("75N060W", "redirect", "login")
        r = requests.get(eog.origin + path, headers=auth, allow_redirects=False)
        assert r.status_code == 302 and r.headers["Location"] == mirror.other_origin + path
        followed = requests.get(eog.origin + path, headers=auth)  # the login fault: to the page
        assert followed.url.startswith(eog.auth_url) and "kc-form-login" in followed.text
        # requests drops the token when a redirect changes host: the mirror never sees it
        eog.add_faults("75N060W", "redirect")
        got = requests.get(eog.origin + path, headers=auth)
        assert got.status_code == 200 and mirror.auth_headers == [None]


def test_token_endpoint_faults(eog):
    eog.add_faults("openid-connect/token", "503")
    assert grant(eog).status_code == 503
    assert grant(eog).status_code == 200


def test_token_endpoint_503_then_hang(eog):
    """token_faults: a 503, then a request that is never answered (a stalled Keycloak)."""
    eog.stall_seconds = 1.0
    eog.token_faults("503", "hang")
    assert grant(eog).status_code == 503
    form = {"client_id": "my-client", "client_secret": "my-secret", "grant_type": "password",
            "username": "alice", "password": "pw"}  # fmt: skip
    start = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(eog.token_url, data=form, timeout=(2, 0.3))
    assert time.monotonic() - start < 1.0
    assert grant(eog).status_code == 200
    token_path = urlsplit(eog.token_url).path
    assert [s for m, p, s in eog.requests if p == token_path] == [503, BROKEN, 200]


def test_token_responses_without_refresh_tokens(small_eog_tree):
    with EOGServer(small_eog_tree, prefix=PREFIX, refresh_tokens=False) as srv:
        body = grant(srv).json()
        assert "refresh_token" not in body and "refresh_expires_in" not in body
        assert body["expires_in"] == 300 and body["token_type"] == "Bearer"
        (issued,) = srv.issued
        assert issued.grant == "password" and issued.refresh_token is None
        assert issued.access_token == body["access_token"]


def test_a_login_realm_that_moved_answers_404(eog):
    """mod_auth_openidc still names a realm Keycloak no longer has: 302, then 404."""
    eog.login_realm = "eog-old"
    r = requests.get(eog.origin + a_file(eog))  # requests follows the 302
    assert [h.status_code for h in r.history] == [302]
    assert urlsplit(r.history[0].headers["Location"]).path == (
        "/realms/eog-old/protocol/openid-connect/auth"
    )
    assert r.status_code == 404 and r.json() == {"error": "Realm does not exist"}


def test_issued_tokens_and_the_bearer_log(eog):
    """What a test can check a run against: which token each data request carried, and
    when and by which grant each token was issued (kept in memory only)."""
    first = grant(eog).json()
    auth = {"Authorization": f"Bearer {first['access_token']}"}
    again = grant(
        eog, grant_type="refresh_token", refresh_token=first["refresh_token"], username=None,
        password=None,
    ).json()  # fmt: skip
    requests.get(f"{eog.url}/2019/", headers=auth)
    requests.get(f"{eog.url}/2019/", allow_redirects=False)
    assert [(m, p, t) for _, m, p, t in eog.bearer_log] == [
        ("GET", f"{PREFIX}/2019/", first["access_token"]),
        ("GET", f"{PREFIX}/2019/", None),
    ]
    one, two = eog.issued
    assert (one.grant, two.grant) == ("password", "refresh_token") and one.at <= two.at
    assert eog.issued_at(again["access_token"]) is two and eog.issued_at("forged") is None
    assert set(eog.issued_secrets()) == {
        first["access_token"], first["refresh_token"], again["access_token"],
        again["refresh_token"],
    }  # fmt: skip


def raw_get(srv, path: str, auth: dict, timeout: float = 5.0):
    """GET over a bare socket: (socket, head bytes, first body bytes)."""
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=timeout)
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth['Authorization']}"
    s.sendall(request.encode() + b"\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(65536)
    head, _, body = buf.partition(b"\r\n\r\n")
    return s, head, body


def read_rest(s, body: bytes) -> tuple[bytes, str]:
    try:
        while chunk := s.recv(65536):
            body += chunk
        return body, "eof"
    except ConnectionResetError:
        return body, "reset"
    finally:
        s.close()


def content_length(head: bytes) -> int:
    return int(re.search(rb"Content-Length: (\d+)", head).group(1))


@pytest.mark.parametrize("fault", ["cut", "reset"])
def test_cut_and_reset_send_half_the_body(eog, fault):
    auth = bearer(eog)
    path = a_file(eog)
    eog.add_faults("75N060W", fault)
    s, head, body = raw_get(eog, path, auth)
    body, how = read_rest(s, body)
    assert head.startswith(b"HTTP/1.1 200")
    assert len(body) <= content_length(head) // 2 < content_length(head)
    assert how == ("eof" if fault == "cut" else "reset")
    assert eog.requests[-1] == ("GET", path, BROKEN) and eog.file_gets() == []


def test_stall_is_logged_before_the_body(eog):
    auth = bearer(eog)
    path = a_file(eog)
    eog.stall_seconds = 1.0
    eog.add_faults("75N060W", "stall")
    start = time.monotonic()
    s, head, body = raw_get(eog, path, auth)
    assert eog.requests[-1] == ("GET", path, BROKEN)  # logged before the body was sent
    body, how = read_rest(s, body)
    assert how == "eof" and len(body) == content_length(head) // 2
    assert time.monotonic() - start >= 0.9


def test_unknown_fault_is_refused(eog):
    with pytest.raises(ValueError, match="unknown fault"):
        eog.add_faults("x", "explode")


def test_command_line_server(small_eog_tree, tmp_path):
    ready = tmp_path / "ready"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sezlights_standin.eog",
            "--root",
            str(small_eog_tree),
            "--port",
            "0",
        ]
        + ["--prefix", PREFIX, "--user", "bob:s3cret-xyz", "--ready-file", str(ready)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        url = ready.read_text().strip()
        assert requests.get(f"{url}/2019/", allow_redirects=False).status_code == 302
        port = urlsplit(url).port
        token_url = f"http://127.0.0.1:{port}/realms/eog/protocol/openid-connect/token"
        form = {"client_id": "my-client", "client_secret": "my-secret", "grant_type": "password"}
        r = requests.post(token_url, data={**form, "username": "bob", "password": "s3cret-xyz"})
        assert r.status_code == 200
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert "bob" in out and "s3cret-xyz" not in out


# --------------------------------------------------------------------------- LAADS


def laads_month(month="2019-01") -> str:
    return "/" + bmt.month_folder(month)


def test_laads_csv_and_json_listings(laads, small_laads_tree):
    names = sorted(p.name for p in (small_laads_tree / bmt.month_folder("2019-01")).iterdir())
    assert len(names) == 2 and all(
        re.fullmatch(r"VNP46A3\.A2019001\.h\d\dv\d\d\.002\.\d{13}\.h5", n) for n in names
    )
    r = requests.get(laads.origin + laads_month() + ".csv")
    assert r.status_code == 200
    lines = r.text.splitlines()
    assert lines[0] == "name,last_modified,size"
    assert [line.split(",")[0] for line in lines[1:]] == names
    r = requests.get(laads.origin + laads_month() + ".json")
    assert [e["name"] for e in r.json()["content"]] == names
    assert requests.get(laads.origin + laads_month("2019-02") + ".json").status_code == 200
    for ext in (".csv", ".json"):  # 2019-03 is not published
        assert requests.get(laads.origin + laads_month("2019-03") + ext).status_code == 404
    assert laads.auth_headers == []  # listings are not data files


def test_laads_files_need_the_token(laads, small_laads_tree):
    name = sorted((small_laads_tree / bmt.month_folder("2019-01")).iterdir())[0].name
    url = f"{laads.origin}{laads_month()}/{name}"
    ok = requests.get(url, headers={"Authorization": f"Bearer {EDL_TOKEN}"})
    assert ok.status_code == 200 and ok.content.startswith(b"\x89HDF\r\n\x1a\n")
    part = requests.get(url, headers={"Authorization": f"Bearer {EDL_TOKEN}", "Range": "bytes=0-7"})
    assert part.status_code == 206 and part.content == b"\x89HDF\r\n\x1a\n"
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        r = requests.get(url, headers=headers, allow_redirects=False)
        assert r.status_code == 302
        loc = urlsplit(r.headers["Location"])
        assert (loc.hostname, loc.port, loc.path) == ("localhost", laads.port, "/oauth/authorize")
        q = parse_qs(loc.query)
        assert q["response_type"] == ["code"] and q["client_id"] and q["redirect_uri"]
        page = requests.get(url, headers=headers)  # followed: the login page, status 200
        assert page.status_code == 200 and "<title>Earthdata Login</title>" in page.text
        assert page.headers["Content-Type"].startswith("text/html")
    # a wrong token is refused on a public listing too
    wrong = requests.get(
        laads.origin + laads_month() + ".csv",
        headers={"Authorization": "Bearer x"},
        allow_redirects=False,
    )
    assert wrong.status_code == 302
    assert laads.file_gets() == [f"{laads_month()}/{name}"] * 2
    assert laads.auth_headers[:2] == [f"Bearer {EDL_TOKEN}"] * 2 and None in laads.auth_headers


def test_laads_missing_file_is_404_json(laads):
    name = "VNP46A3.A2019001.h21v05.002.2025133000000.h5"
    r = requests.get(
        f"{laads.origin}{laads_month()}/{name}", headers={"Authorization": f"Bearer {EDL_TOKEN}"}
    )
    assert r.status_code == 404
    assert r.json() == {
        "detail": f"The file '{name}' cannot be found for group 'modaps-lads' bucket 'lads-data'.",
        "instance": None,
        "status": 404,
        "title": "File Not Found",
        "type": "urn:nasa:gsfc:tis:pinpoint:errors:file_not_found",
    }


def test_laads_listings_can_need_the_token(small_laads_tree):
    with LAADSServer(small_laads_tree, token=EDL_TOKEN, listings_need_token=True) as srv:
        url = srv.origin + laads_month() + ".csv"
        r = requests.get(url, allow_redirects=False)
        assert r.status_code == 302 and urlsplit(r.headers["Location"]).path == "/oauth/authorize"
        ok = requests.get(url, headers={"Authorization": f"Bearer {EDL_TOKEN}"})
        assert ok.status_code == 200 and ok.text.startswith("name,")
        assert srv.listing_auth == [None, f"Bearer {EDL_TOKEN}"]
        assert srv.file_gets() == []  # listings are not data files


def test_laads_faults_and_401_option(small_laads_tree):
    with LAADSServer(small_laads_tree, token=EDL_TOKEN, unauthorized="401") as srv:
        month = laads_month()
        name = sorted((small_laads_tree / month[1:]).iterdir())[0].name
        assert requests.get(f"{srv.origin}{month}/{name}").status_code == 401
        srv.add_faults(".csv", "503")
        r = requests.get(f"{srv.origin}{month}.csv")
        assert r.status_code == 503 and "nginx" in r.text
        assert requests.get(f"{srv.origin}{month}.csv").status_code == 200


def test_laads_search_api_as_blackmarblepy_reads_it(laads, small_laads_tree):
    """GET /api/v2/content/details (docs/evidence/blackmarblepy.md §2.1): public, the
    month starts in the range (both ends), tiles meeting the box, pages from 1."""
    api = laads.origin + "/api/v2/content/details"
    q = {
        "products": "VNP46A3",
        "archiveSet": "5200",
        "temporalRanges": "2019-01-01..2019-02-01",
        "regions": "[BBOX]W-180.0 N90.0 E180.0 S-90.0",
        "page": 1,
    }
    r = requests.get(api, params=q)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    body = r.json()
    assert body["n_pages"] == 1 and len(body["content"]) == 4  # two tiles, two months
    first = body["content"][0]
    assert set(first) == {"name", "start", "downloadsLink", "size"}
    assert first["start"] == "2019-01-01 00:00:00"
    path = urlsplit(first["downloadsLink"]).path
    assert path == f"{laads_month()}/{first['name']}"
    assert first["size"] == (small_laads_tree / path.lstrip("/")).stat().st_size
    ok = requests.get(first["downloadsLink"], headers={"Authorization": f"Bearer {EDL_TOKEN}"})
    assert len(ok.content) == first["size"]
    # the range's ends are month starts, both included; one month only
    one = requests.get(api, params={**q, "temporalRanges": "2019-02-01..2019-02-01"}).json()
    assert {e["start"] for e in one["content"]} == {"2019-02-01 00:00:00"}
    # the box: h21v09 is 30..40 E, 0..10 S (h20v12, 20..30 E, 30..40 S, is far): a box
    # inside it lists it alone, and so does a box that only touches its west edge
    inside = requests.get(api, params={**q, "regions": "[BBOX]W31.0 N-1.0 E32.0 S-2.0"}).json()
    assert {e["name"].split(".")[2] for e in inside["content"]} == {"h21v09"}
    edge = requests.get(api, params={**q, "regions": "[BBOX]W29.0 N-1.0 E30.0 S-2.0"}).json()
    assert {e["name"].split(".")[2] for e in edge["content"]} == {"h21v09"}
    nowhere = requests.get(api, params={**q, "regions": "[BBOX]W-10.0 N50.0 E-9.0 S49.0"})
    assert nowhere.json() == {"content": [], "n_pages": 1}
    # pages
    laads.api_page_size = 3
    try:
        p1 = requests.get(api, params=q).json()
        p2 = requests.get(api, params={**q, "page": 2}).json()
    finally:
        laads.api_page_size = 100
    assert p1["n_pages"] == p2["n_pages"] == 2
    assert [e["name"] for e in p1["content"] + p2["content"]] == [
        e["name"] for e in body["content"]
    ]
    # no token needed (the one header recorded is the file's); a query it cannot read: 400
    assert laads.auth_headers == [f"Bearer {EDL_TOKEN}"]
    assert requests.get(api, params={"products": "VNP46A3"}).status_code == 400
    assert requests.get(api, params={**q, "regions": "somewhere"}).status_code == 400


# ------------------------------------------------------------------- Black Marble files


@pytest.fixture(scope="module")
def coega_file(tmp_path_factory) -> Path:
    """h20v12 (Coega and the cloudy box) in 2019-02, a cloudy month."""
    d = tmp_path_factory.mktemp("bm")
    return bmt.write_file(d / bmt.file_name("2019-02", "h20v12"), "2019-02", "h20v12", FINE / 3600)


def test_hdf5_layout(coega_file):
    pixel = FINE / 3600
    assert world.cloudy_month("2019-02")
    with h5py.File(coega_file, "r") as f:
        fields = f[bmt.DATA_FIELDS]
        composites = [
            f"{a}_Composite_{s}{k}"
            for a in bmt.ANGLES
            for s in bmt.SNOW
            for k in ("", "_Num", "_Quality", "_Std")
        ]
        assert set(fields) == set(composites) | {"DNB_Platform", "Land_Water_Mask", "lat", "lon"}
        assert len(fields) == 28
        rad = fields["NearNadir_Composite_Snow_Free"]
        assert rad.dtype == np.float32 and rad.shape == (60, 60)
        assert rad.compression == "gzip" and rad.chunks is not None
        assert (
            rad.attrs["_FillValue"] == np.float32(-999.9)
            and rad.attrs["_FillValue"].dtype == np.float32
        )
        assert (rad.attrs["scale_factor"], rad.attrs["add_offset"]) == (1.0, 0.0)
        assert rad.attrs["units"] == b"nWatts/(cm^2 sr)" and "long_name" in rad.attrs
        assert fields["NearNadir_Composite_Snow_Free_Num"].dtype == np.uint16
        assert fields["NearNadir_Composite_Snow_Free_Quality"].dtype == np.uint8
        assert fields["NearNadir_Composite_Snow_Free_Std"].dtype == np.float32
        assert fields["Land_Water_Mask"].dtype == np.uint8
        lat, lon = fields["lat"][:], fields["lon"][:]
        assert lat.shape == (60,) and lon.shape == (60,)
        assert lat[0] == pytest.approx(-30 - pixel / 2) and lat[-1] == pytest.approx(
            -40 + pixel / 2
        )
        assert lon[0] == pytest.approx(20 + pixel / 2) and np.all(np.diff(lon) > 0)
        meta = f["HDFEOS INFORMATION/StructMetadata.0"][()].decode()
        for line in (
            'GridName="VIIRS_Grid_DNB_2d"',
            "XDim=60",
            "YDim=60",
            "UpperLeftPointMtrs=(20000000.000000,-30000000.000000)",
            "LowerRightMtrs=(30000000.000000,-40000000.000000)",
            "Projection=HE5_GCTP_GEO",
            "GridOrigin=HE5_HDFE_GD_UL",
        ):
            assert line in meta
        assert (f.attrs["HorizontalTileNumber"], f.attrs["VerticalTileNumber"]) == (b"20", b"12")
        bounds = [
            f.attrs[k]
            for k in (
                "WestBoundingCoord",
                "SouthBoundingCoord",
                "EastBoundingCoord",
                "NorthBoundingCoord",
            )
        ]
        assert bounds == [20.0, -40.0, 30.0, -30.0]
        # the grid is the source's: lat/lon are the centres of tileset(pixel)'s pixels
        t = bm_source.tileset(pixel).transform("h20v12")
        assert lon[0] == pytest.approx(t.c + pixel / 2) and lat[0] == pytest.approx(t.f - pixel / 2)


def test_hdf5_fill_and_quality_semantics(coega_file):
    with h5py.File(coega_file, "r") as f:
        fields = f[bmt.DATA_FIELDS]
        for angle in bmt.ANGLES:
            name = f"{angle}_Composite_Snow_Free"
            rad, num = fields[name][:], fields[name + "_Num"][:]
            q, std = fields[name + "_Quality"][:], fields[name + "_Std"][:]
            fill = q == 255
            assert fill.any() and (fill == (rad == np.float32(-999.9))).all()
            # as in real files (ALEPH): fill pixels have _Num 0, though _FillValue says 65535
            assert (num[fill] == 0).all() and fields[name + "_Num"].attrs["_FillValue"] == 65535
            assert (fields["Land_Water_Mask"][:][fill] == 255).all()
            good = ~fill
            assert set(np.unique(q[good])) <= {0, 1, 2}
            assert (num[q == 0] > 3).all() and ((num[q == 1] >= 1) & (num[q == 1] <= 3)).all()
            assert (num[q == 2] == 0).all() and (q[good & (num == 0)] == 2).all()
            valid = rad[good]
            assert (valid >= 0).all() and ((valid == 0) | (valid >= 0.5)).all()  # C2: no negatives
            assert (std[good & (num == 0)] == np.float32(-999.9)).all()
            covered = f"{angle}_Composite_Snow_Covered"
            assert (fields[covered + "_Quality"][:] == 255).all()
        # the cloudy box is gap filled from history: quality 2 with radiance present
        rad = fields["NearNadir_Composite_Snow_Free"][:]
        q = fields["NearNadir_Composite_Snow_Free_Quality"][:]
        lat, lon = fields["lat"][:], fields["lon"][:]
        box = world.cloudy("2019-02", lon, lat)
        assert box.sum() >= 4 and (q[box] == 2).all() and (rad[box] > 0).any()
        assert set(np.unique(q)) == {0, 1, 2, 255}


def test_hdf5_arrays_match_tile_arrays_and_collection_1(coega_file, tmp_path):
    pixel = FINE / 3600
    arrays = bmt.tile_arrays("2019-02", "h20v12", pixel)
    with h5py.File(coega_file, "r") as f:
        for name, arr in arrays.items():
            assert np.array_equal(f[bmt.DATA_FIELDS][name][:], arr), name
    c1 = bmt.write_file(
        tmp_path / bmt.file_name("2019-02", "h20v12", "5000"), "2019-02", "h20v12", pixel, "5000"
    )
    assert (
        ".001." in c1.name
        and bmt.month_folder("2019-02", "5000") == "archive/allData/5000/VNP46A3/2019/032"
    )
    with h5py.File(c1, "r") as f:
        rad = f[bmt.DATA_FIELDS]["NearNadir_Composite_Snow_Free"]
        assert rad.dtype == np.uint16 and rad.attrs["_FillValue"] == 65535
        assert rad.attrs["scale_factor"] == pytest.approx(0.1)
        c2 = arrays["NearNadir_Composite_Snow_Free"]
        values = rad[:]
        fill = c2 == np.float32(-999.9)
        assert (values[fill] == 65535).all()
        assert np.allclose(values[~fill] * 0.1, c2[~fill], atol=0.051)


def test_blackmarble_names_and_default_tiles():
    assert (
        bmt.doy("2020-03") == "061" and bmt.doy("2019-03") == "060" and bmt.doy("2019-12") == "335"
    )
    name = bmt.file_name("2019-01", "h18v07")
    assert re.fullmatch(r"VNP46A3\.A2019001\.h18v07\.002\.2025133\d{6}\.h5", name)
    assert bmt.file_name("2019-01", "h18v08") != name.replace("h18v07", "h18v08")  # stamps differ
    tiles = bmt.default_tiles()
    assert "h21v09" in tiles and "h00v00" not in tiles and len(tiles) < 100


# ------------------------------------------------------------------------ EOG archives


def test_eog_variants_do_not_change_values(tmp_path):
    pixel = COARSE / 3600
    for month, product in (("2022-08", "vcmcfg"), ("2014-01", "vcmslcfg"), ("2015-06", "vcmcfg")):
        real = eog_tiles.archive_path(tmp_path / "real", month, "75N060W", product)
        plain = eog_tiles.archive_path(tmp_path / "plain", month, "75N060W", product, plain=True)
        eog_tiles.write_archive(real, month, "75N060W", pixel)
        eog_tiles.write_archive(plain, month, "75N060W", pixel, plain=True)
        a, b = eog_tiles.read_archive(real), eog_tiles.read_archive(plain)
        rad_a = a.get("avg_rade9h", a.get("avg_rade9"))
        assert set(b) == {"avg_rade9h", "cf_cvg"} and "cvg" in a
        assert np.array_equal(rad_a, b["avg_rade9h"]) and np.array_equal(a["cf_cvg"], b["cf_cvg"])
        rad, cf = eog_tiles.tile_arrays(month, "75N060W", pixel)
        assert np.array_equal(rad, rad_a) and np.array_equal(cf, a["cf_cvg"])
        assert (a["cvg"] >= a["cf_cvg"]).all()


def test_eog_tree_layout_and_names(tmp_path):
    root = tmp_path / "v10"
    paths = eog_tiles.make_tree(
        root, "2013-12", "2014-01", COARSE, ("vcmcfg", "vcmslcfg"), ("75N060W",)
    )
    assert (root / "2013/201312/vcmslcfg").is_dir() and not any(
        (root / "2013/201312/vcmslcfg").iterdir()
    )
    names = sorted(p.name for p in paths)
    assert names == [
        "SVDNB_npp_20131201-20131231_75N060W_vcmcfg_v10_c201401051200.tgz",
        "SVDNB_npp_20140101-20140131_75N060W_vcmcfg_v10_c201402051200.tgz",
        "SVDNB_npp_20140101-20140131_75N060W_vcmslcfg_v10_c2015006171539.tgz",
    ]
    import tarfile

    with tarfile.open(paths[-1]) as tar:
        members = tar.getnames()
    stem = paths[-1].name[: -len(".tgz")]
    assert sorted(members) == sorted(f"{stem}.{k}.tif" for k in ("avg_rade9", "cf_cvg", "cvg"))
    (noaa,) = eog_tiles.make_tree(root, "2022-08", "2022-08", COARSE, tiles=("00N060E",))
    assert noaa.relative_to(root).as_posix() == (
        "2022/202208/NOAA-20/vcmcfg/SVDNB_j01_20220801-20220831_00N060E_vcmcfg_v10_c202209231200.tgz"
    )
    assert sorted(p.name for p in (root / "2022/202208").iterdir()) == ["NOAA-20"]
    assert (
        eog_tiles.radiance_layer("2017-05") == "avg_rade9"
        and eog_tiles.radiance_layer("2017-06") == "avg_rade9h"
    )
    positions = {eog_tiles.layers("2019-01", f"stem{i}").index("cvg") for i in range(30)}
    assert positions == {0, 1, 2}


def test_eog_values(tmp_path):
    pixel = FINE / 3600
    rows = eog_source.tileset(pixel).shape("00N060W")[0]
    rad, cf = eog_tiles.tile_arrays("2019-02", "00N060W", pixel)
    assert (
        rad.dtype == np.float32
        and cf.dtype == np.uint16
        and rad.shape == eog_source.tileset(pixel).shape("00N060W")
    )
    assert (rad[cf == 0] == 0).all()
    assert (rad < 0).any() and (rad == 0).mean() > 0.6  # dim noise: mostly zeros, some negatives
    unobserved = (cf == 0).mean()
    assert 0.02 < unobserved < 0.05  # ~3 % scattered, plus the cloudy box
    # the same values however a tile is cut into blocks
    top, bottom = (
        eog_tiles.tile_block("2019-02", "00N060W", pixel, 0, 37),
        eog_tiles.tile_block("2019-02", "00N060W", pixel, 37, rows),
    )
    assert np.array_equal(np.vstack([top[0], bottom[0]]), rad) and np.array_equal(
        np.vstack([top[1], bottom[1]]), cf
    )
    # the cloudy box has no cloud-free observation in 2019-02, and does in 2019-01
    t = eog_source.tileset(pixel).transform("00N060W")
    lon, lat = world.centres(t, rad.shape[1], 0, rows)
    box = world.cloudy("2019-02", lon, lat)
    assert box.sum() >= 4 and (cf[box] == 0).all()
    assert (eog_tiles.tile_arrays("2019-01", "00N060W", pixel)[1][box] > 0).mean() > 0.8


def test_both_sources_see_the_same_world():
    """Around Athi River, Black Marble's light is about 0.9 x EOG's (world.py)."""
    pixel = FINE / 3600
    lon0, lat0 = 36.98, -1.43

    def box_mean(rad, ok, lon, lat):
        near = (np.abs(lat - lat0) < 0.5)[:, None] & (np.abs(lon - lon0) < 0.5)[None, :]
        return rad[near & ok].mean()

    ts = eog_source.tileset(pixel)
    rad, cf = eog_tiles.tile_arrays("2019-01", "00N060W", pixel)
    lon, lat = world.centres(ts.transform("00N060W"), rad.shape[1], 0, rad.shape[0])
    eog_mean = box_mean(rad, cf > 0, lon, lat)
    arrays = bmt.tile_arrays("2019-01", "h21v09", pixel)
    bm = arrays["NearNadir_Composite_Snow_Free"]
    q = arrays["NearNadir_Composite_Snow_Free_Quality"]
    bm_mean = box_mean(bm, q < 2, arrays["lon"], arrays["lat"])
    assert 0.8 < bm_mean / eog_mean < 1.0


# ---------------------------------------------------------------- the Earthdata Cloud


@pytest.fixture
def cloud(earthdata_server):
    return earthdata_server


def test_cmr_pages_with_the_search_after_header_and_counts_hits(cloud):
    """docs/evidence/blackmarble.md §10: CMR-Hits, CMR-Search-After while results remain,
    an empty page without the header after the last."""
    url = cloud.cmr_url + "granules.json"
    q = {"short_name": "VNP46A3", "version": "2", "page_size": "3",
         "temporal[]": "2019-01-01T00:00:01Z,2019-01-31T23:59:59Z"}  # fmt: skip
    names, headers = [], {}
    for _ in range(10):
        r = requests.get(url, params=q, headers=headers)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
        assert r.headers["CMR-Hits"] == "8"
        entries = r.json()["feed"]["entry"]
        names += [e["producer_granule_id"] for e in entries]
        if "CMR-Search-After" not in r.headers:
            break
        headers = {"CMR-Search-After": r.headers["CMR-Search-After"]}
    assert len(names) == len(set(names)) == 8  # every granule once, over three pages
    assert all(n.startswith("VNP46A3.A2019001.") for n in names)
    assert requests.get(url, params={**q, "page_num": "2"}).status_code == 400


def test_the_cloud_host_redirects_to_a_signed_url_that_refuses_a_token(cloud):
    name = next(cloud.tree.rglob("VNP46A3.A2019001.h21v08.*.h5")).name
    url = f"{cloud.cloud_url}/VNP46A3/{name}"
    auth = {"Authorization": f"Bearer {EARTHDATA_TOKEN}"}
    assert requests.get(url, allow_redirects=False).status_code == 302  # no token: login
    bad = requests.get(url, headers={"Authorization": "Bearer nope"}, allow_redirects=False)
    assert bad.status_code == 401
    r = requests.get(url, headers=auth, allow_redirects=False)
    assert r.status_code == 303 and "max-age=" in r.headers["Cache-Control"]
    signed = r.headers["Location"]
    assert urlsplit(signed).hostname == "localhost"  # another host than 127.0.0.1
    both = requests.get(signed, headers=auth)
    assert both.status_code == 400 and b"Only one auth mechanism allowed" in both.content
    ok = requests.get(signed, headers={"Range": "bytes=0-7"})
    assert ok.status_code == 206 and ok.content == b"\x89HDF\r\n\x1a\n"
    assert cloud.signed_auth == [f"Bearer {EARTHDATA_TOKEN}", None]
    tampered = requests.get(signed.replace("X-Amz-Expires=3600", "X-Amz-Expires=9999"))
    assert tampered.status_code == 403 and b"SignatureDoesNotMatch" in tampered.content


def test_a_signed_url_expires(cloud):
    cloud.signed_lifetime = 0.2
    name = next(cloud.tree.rglob("VJ146A3.A2019001.h21v08.*.h5")).name
    r = requests.get(f"{cloud.cloud_url}/VJ146A3/{name}", allow_redirects=False,
                     headers={"Authorization": f"Bearer {EARTHDATA_TOKEN}"})  # fmt: skip
    time.sleep(0.3)
    late = requests.get(r.headers["Location"])
    assert late.status_code == 403 and b"Request has expired" in late.content


def test_an_unapproved_user_or_an_expired_token_gets_401_and_an_unaccepted_eula_403(cloud):
    name = next(cloud.tree.rglob("VNP46A3.A2019001.h21v08.*.h5")).name
    url = f"{cloud.cloud_url}/VNP46A3/{name}"
    for token in (
        cloud.add_user("bob", approved=False),
        cloud.add_user("old", expires=time.time() - 10),
    ):
        r = requests.get(url, headers={"Authorization": f"Bearer {token}"}, allow_redirects=False)
        assert r.status_code == 401
    eula = cloud.add_user("carol", eula=False)
    r = requests.get(url, headers={"Authorization": f"Bearer {eula}"}, allow_redirects=False)
    assert r.status_code == 403 and r.json()["error_description"] == "EULA Acceptance Failure"
