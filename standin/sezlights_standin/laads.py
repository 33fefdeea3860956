"""A local stand-in of LAADS DAAC (``ladsweb.modaps.eosdis.nasa.gov``) for VNP46A3.

Serves ``root`` laid out as on LAADS (docs/evidence/blackmarble.md §1):
``archive/allData/{collection}/VNP46A3/{YYYY}/{DOY}/VNP46A3.A{YYYY}{DOY}.h{HH}v{VV}.{CCC}.
{YYYYDDDHHMMSS}.h5`` (DOY: day of year of the month's first day, §1.5), as written by
:mod:`.blackmarble_tiles`.

- **Listings** (§1.3): ``{folder}.csv`` and ``{folder}.json`` for any folder under
  ``/archive/allData`` (e.g. ``.../VNP46A3/2019/001.csv``), made from the folder at
  request time. JSON is ``{"content": [{"name": ..., "last_modified": ..., "size": ...}]}``
  (the ``content`` wrapper and ``name`` are confirmed: the Riyadh connector and LAADS's
  own bash script read ``.content[].name``); the CSV has the header
  ``name,last_modified,size``. Only the ``name`` column/field is confirmed by public
  evidence (blackmarbler reads ``$name``); ``last_modified`` and ``size`` are this
  stand-in's guess, so a client must need nothing but ``name``. A month folder that does
  not exist (an unpublished month) -> 404 for both (§1.3: "if resp.status_code == 404:
  raise BlackMarbleNotAvailableError"). Listings are public by default;
  ``listings_need_token=True`` makes them answer a request without the token like a
  file (the login redirect): blackmarbler #25 (2025-12) saw an unauthenticated read of
  ``.../5200/VNP46A3/2025/001.csv`` fail (why is NOT confirmed, §1.3), so the client
  sends its token on listings too. ``.listing_auth`` records the ``Authorization``
  header (or None) of every listing request. A folder URL itself answers the web app's
  HTML shell, which holds no file links (the real archive pages are built by JavaScript
  -- INFERENCE), so a client cannot scrape it.
- **Files** need ``Authorization: Bearer <token>`` (§2.1, an Earthdata Login token). A
  missing or wrong token on a file, or *any* request presenting a wrong token, gets a
  302 to an Earthdata-login stand-in on ANOTHER host name,
  ``http://localhost:<port>/oauth/authorize?client_id=...&response_type=code&redirect_uri=...``
  (§2.2: EDL's ``/oauth/authorize`` 302 documented for other DAACs; clients see "HTML
  login page, possibly with status 200 after redirects" and check for "Earthdata Login").
  The server listens on 127.0.0.1, so ``localhost`` is a different host to a client:
  requests drops the ``Authorization`` header on that redirect, and a client that
  re-attaches it leaks the token (the server's ``.auth_headers`` shows it). The page
  answers 200 HTML titled "Earthdata Login". ``unauthorized="401"``/``"403"`` answer those
  statuses instead (§2.2: both have been reported).
- **A missing file** -> 404 JSON exactly like LAADS's (§2.2, blackmarbler issue #9):
  ``{"detail": "The file '...' cannot be found for group 'modaps-lads' bucket
  'lads-data'.", "instance": null, "status": 404, "title": "File Not Found", "type": ...}``.
- Range, Content-Length and the faults of :class:`~.httpserver.StandinServer`; error
  pages look like nginx's (§2.2: LAADS's 504 came as an nginx page, blackmarbler #13).

Not modelled: the ``/api/v2/content/details`` search API (§1.4), the signed-URL redirect
to another subdomain (§2.2, NOT confirmed), throttling of concurrent downloads (§2.4).
"""

from __future__ import annotations

import csv
import html
import io
import json
import secrets
import time
from http import HTTPStatus
from pathlib import Path
from urllib.parse import quote

from .httpserver import StandinHandler, StandinServer

ARCHIVE = "/archive/allData"
EDL_PATH = "/oauth/authorize"
EDL_CLIENT_ID = "Xx9sTandInLaAdSCl1entId"  # made up: the real LAADS client id is not needed
LISTING_FIELDS = ("name", "last_modified", "size")  # only "name" is confirmed (see above)
NOT_FOUND_TYPE = "urn:nasa:gsfc:tis:pinpoint:errors:file_not_found"


def nginx_error(status: int) -> bytes:
    reason = HTTPStatus(status).phrase
    return (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()


def earthdata_login_page() -> bytes:
    """The Earthdata Login stand-in page (what clients detect: "Earthdata Login")."""
    return b"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Earthdata Login</title>
</head>
<body>
<header><h1>Earthdata Login</h1></header>
<form id="login" action="/login" method="post">
<label for="username">Username</label><input id="username" name="username" type="text">
<label for="password">Password</label><input id="password" name="password" type="password">
<input type="submit" name="commit" value="Log in">
</form>
</body>
</html>
"""


def listing_rows(folder: Path) -> list[dict]:
    rows = []
    for p in sorted(folder.iterdir(), key=lambda p: p.name):
        if p.name.startswith("."):
            continue
        st = p.stat()
        rows.append(
            {
                "name": p.name,
                "last_modified": time.strftime("%Y-%m-%d %H:%M", time.gmtime(st.st_mtime)),
                "size": 0 if p.is_dir() else st.st_size,
            }
        )
    return rows


def listing_csv(folder: Path) -> bytes:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=LISTING_FIELDS, lineterminator="\n")
    w.writeheader()
    w.writerows(listing_rows(folder))
    return out.getvalue().encode()


def listing_json(folder: Path) -> bytes:
    return json.dumps({"content": listing_rows(folder)}).encode()


class _LAADSHandler(StandinHandler):
    server: LAADSServer

    def route(self) -> None:
        srv, path = self.server, self.url_path
        auth = self.headers.get("Authorization")
        if path == "/oauth" or path.startswith("/oauth/") or path == "/login":
            fault = self.take_fault()
            if fault is True:
                return
            return self.reply(200, earthdata_login_page(), "text/html; charset=utf-8", fault=fault)
        good = auth is not None and secrets.compare_digest(auth, f"Bearer {srv.token}")
        if path != ARCHIVE and not path.startswith(ARCHIVE + "/"):
            return self.not_found(f"The path '{path}' cannot be found.")
        if self.command not in ("GET", "HEAD"):
            return self.error(405)
        rel = path.lstrip("/")
        if path.endswith((".csv", ".json")):  # a folder's listing: public unless told
            srv.note_listing_auth(auth)
            if (auth is not None or srv.listings_need_token) and not good:
                return self.unauthenticated()
            fault = self.take_fault()
            if fault is True:
                return
            folder = srv.resolve("/" + rel.rsplit(".", 1)[0])
            if folder is None or not folder.is_dir():
                return self.not_found(
                    f"The folder '{rel.rsplit('.', 1)[0]}' cannot be found.", fault
                )
            if path.endswith(".csv"):
                return self.reply(200, listing_csv(folder), "text/csv; charset=utf-8", fault=fault)
            return self.reply(200, listing_json(folder), "application/json", fault=fault)
        target = srv.resolve(path)
        if target is not None and target.is_dir():
            if auth is not None and not good:
                return self.unauthenticated()
            fault = self.take_fault()
            if fault is True:
                return
            return self.reply(200, _app_shell(path), "text/html; charset=utf-8", fault=fault)
        srv.note_auth(auth)
        if not good:
            return self.unauthenticated()
        fault = self.take_fault()
        if fault is True:
            return
        if target is None:
            name = Path(path).name
            return self.not_found(
                f"The file '{name}' cannot be found for group 'modaps-lads' bucket 'lads-data'.",
                fault,
                title="File Not Found",
            )
        return self.serve_file(target, fault)

    def not_found(self, detail: str, fault=None, title: str = "Not Found") -> None:
        payload = {
            "detail": detail,
            "instance": None,
            "status": 404,
            "title": title,
            "type": NOT_FOUND_TYPE,
        }
        self.reply_json(404, payload, fault=fault)

    def unauthenticated(self) -> None:
        how = self.server.unauthorized
        if how in ("401", "403"):
            return self.error(int(how))
        self.redirect(self.server.login_location())


def _app_shell(path: str) -> bytes:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>LAADS DAAC - {html.escape(path)}</title></head>\n"
        "<body><noscript>You need to enable JavaScript to run this app.</noscript>"
        '<div id="root"></div><script src="/static/js/main.js"></script></body></html>\n'
    ).encode()


class LAADSServer(StandinServer):
    """LAADS DAAC's archive for one Earthdata token (see the module doc).

    ``root`` holds ``archive/allData/...``; ``token`` is the bearer token files need.
    """

    handler_class = _LAADSHandler
    data_suffix = ".h5"
    server_software = "nginx"

    def __init__(
        self,
        root,
        port: int = 0,
        token: str = "standin-edl-token",
        *,
        unauthorized: str = "login",
        listings_need_token: bool = False,
    ):
        super().__init__(root, port)
        if unauthorized not in ("login", "401", "403"):
            raise ValueError("unauthorized must be 'login', '401' or '403'")
        self.token = token
        self.unauthorized = unauthorized
        self.listings_need_token = listings_need_token
        self.listing_auth: list[str | None] = []

    def note_listing_auth(self, header: str | None) -> None:
        with self._lock:
            self.listing_auth.append(header)

    def reset_log(self) -> None:
        super().reset_log()
        with self._lock:
            self.listing_auth.clear()

    @property
    def login_url(self) -> str:
        return self.other_origin + EDL_PATH

    def login_location(self) -> str:
        redirect_uri = quote(self.origin + "/callback", safe="")
        return (
            f"{self.login_url}?client_id={EDL_CLIENT_ID}&response_type=code"
            f"&redirect_uri={redirect_uri}"
        )

    def login_page(self) -> bytes:
        return earthdata_login_page()

    def error_page(self, status: int) -> tuple[bytes, str]:
        return nginx_error(status), "text/html"
