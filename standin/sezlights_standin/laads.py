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

- **The search API** ``GET /api/v2/content/details`` (what blackmarblepy 2026.6.1 asks;
  docs/evidence/blackmarblepy.md §2.1 and "What a stand-in must add"): public (no token
  arrives), query ``products``, ``archiveSet``, ``temporalRanges=YYYY-MM-DD..YYYY-MM-DD``
  (both ends included), ``regions=[BBOX]W{w} N{n} E{e} S{s}`` and ``page`` (from 1). It
  answers ``200 application/json`` ``{"content": [{"name", "start", "downloadsLink",
  "size"}], "n_pages": N}``: every ``.h5`` under ``archive/allData/{archiveSet}/
  {product}/{YYYY}/{DOY}/`` whose month start (the folder's day of year) lies in the
  range, ``start`` as ``"YYYY-MM-DD 00:00:00"``, ``downloadsLink`` absolute (public
  scripts pass it to ``requests.get`` as it is), ``size`` in bytes, sorted by name,
  :attr:`LAADSServer.api_page_size` entries a page. ``regions`` keeps the files whose
  10-degree tile (``hHHvVV`` in the name, :func:`.grids.bm_tile`) meets the box, edges
  included (the evidence allows ignoring it; the real API's handling is NOT confirmed:
  a box the client rounded to 2 decimals may reach a neighbouring tile, which is then
  listed too). A request without ``products``, ``archiveSet`` or ``temporalRanges``, or
  with one it cannot read, gets 400 JSON (its body is this stand-in's guess). Only
  ``name``, ``start``, ``downloadsLink``, ``size`` and ``n_pages`` are what the client
  reads; the rest of the real answer is NOT confirmed.

Not modelled: the signed-URL redirect to another subdomain (§2.2, NOT confirmed),
throttling of concurrent downloads (§2.4).
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import math
import re
import secrets
import time
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qs, quote

from . import grids
from .httpserver import StandinHandler, StandinServer

ARCHIVE = "/archive/allData"
API_DETAILS = "/api/v2/content/details"
API_PAGE_SIZE = 100  # entries per page of the search API (the real page size is not known)
_BBOX = re.compile(r"^\[BBOX\]W(?P<w>-?[\d.]+) N(?P<n>-?[\d.]+) E(?P<e>-?[\d.]+) S(?P<s>-?[\d.]+)$")
_TILE = re.compile(r"\.(h\d\dv\d\d)\.")
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
        if path == API_DETAILS:
            return self.content_details()
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

    def content_details(self) -> None:
        """The search API (see the module doc): public, one page of matching files."""
        if self.command not in ("GET", "HEAD"):
            return self.error(405)
        fault = self.take_fault()
        if fault is True:
            return
        q = {k: v[0] for k, v in parse_qs(self.query, keep_blank_values=True).items()}
        try:
            found = self.server.search(
                q["products"], q["archiveSet"], q["temporalRanges"], q.get("regions")
            )
            page = int(q.get("page", "1"))
            if page < 1:
                raise ValueError("page starts at 1")
        except (KeyError, ValueError) as exc:
            what = f"missing parameter {exc}" if isinstance(exc, KeyError) else str(exc)
            payload = {"detail": what, "status": 400, "title": "Bad Request"}
            return self.reply_json(400, payload, fault=fault)
        size = self.server.api_page_size
        body = {
            "content": found[(page - 1) * size : page * size],
            "n_pages": max(1, math.ceil(len(found) / size)),
        }
        self.reply_json(200, body, fault=fault)

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


def _meets(tile: str, box: tuple[float, float, float, float]) -> bool:
    """Whether a Black Marble tile meets the box (west, south, east, north), edges included."""
    transform, _, _ = grids.bm_tile(tile, grids.BM_TILE_DEGREES)
    west, north = transform.c, transform.f
    east, south = west + grids.BM_TILE_DEGREES, north - grids.BM_TILE_DEGREES
    w, s, e, n = box
    return w <= east and e >= west and s <= north and n >= south


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
        self.api_page_size = API_PAGE_SIZE

    def note_listing_auth(self, header: str | None) -> None:
        with self._lock:
            self.listing_auth.append(header)

    def reset_log(self) -> None:
        super().reset_log()
        with self._lock:
            self.listing_auth.clear()

    def search(
        self, products: str, archive_set: str, ranges: str, regions: str | None = None
    ) -> list[dict]:
        """The search API's entries (see the module doc), sorted by name; ValueError for a
        query it cannot read."""
        first, sep, last = ranges.partition("..")
        start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last if sep else first)
        box = None
        if regions:
            m = _BBOX.match(regions.strip())
            if not m:
                raise ValueError(f"cannot read regions {regions!r}")
            box = tuple(float(m[k]) for k in ("w", "s", "e", "n"))
        out = []
        for product in products.split(","):
            base = self.root / ARCHIVE.lstrip("/") / archive_set / product.strip()
            for f in sorted(base.glob("[0-9][0-9][0-9][0-9]/[0-9][0-9][0-9]/*.h5")):
                year, doy = int(f.parent.parent.name), int(f.parent.name)
                day = dt.date(year, 1, 1) + dt.timedelta(days=doy - 1)
                if f.name.startswith(".") or not start <= day <= end:
                    continue
                tile = _TILE.search(f.name)
                if box is not None and (tile is None or not _meets(tile[1], box)):
                    continue
                rel = f.relative_to(self.root).as_posix()
                out.append(
                    {
                        "name": f.name,
                        "start": f"{day.isoformat()} 00:00:00",
                        "downloadsLink": self.absolute("/" + rel),
                        "size": f.stat().st_size,
                    }
                )
        return sorted(out, key=lambda e: e["name"])

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
