"""A local stand-in of NASA's Earthdata Cloud for LAADS: CMR's granule search, the cloud
file host, and the signed-URL host it redirects to.

Everything here follows docs/evidence/blackmarble.md §9-§13 (what a stand-in can copy,
strictly from the evidence); what the evidence leaves open is marked NOT CONFIRMED and
chosen so that a client must not depend on it.

- **CMR** ``GET /search/granules.json`` (§10, §13): ``short_name``, ``version`` (string),
  ``temporal[]``/``temporal`` ``start,end`` in ``yyyy-MM-ddTHH:mm:ssZ`` (boundaries
  inclusive, so a window starting at 00:00:00 on a month's first day also matches the
  previous month, whose granules end then), ``producer_granule_id[]`` or
  ``readable_granule_name[]`` (with ``options[...][pattern]=true``: ``*`` and ``?``),
  ``page_size`` (default 10, at most 2000), ``sort_key`` ``start_date``/``-start_date``.
  Answers 200 ``application/json;charset=utf-8``
  with ``CMR-Hits`` and, while results remain, ``CMR-Search-After`` (a JSON array); a
  request carrying that header gets the next page; after the last page, ``"entry": []``
  and no header. ``page_num``/``offset`` with search-after: 400. Entries:
  ``{"id": "G<n>-LAADS", "title": "LAADS:<n>" (NOT CONFIRMED: not the file name),
  "producer_granule_id": <file>, "time_start": <month>-01T00:00:00.000Z, "time_end": <next
  month>-01T00:00:00.000Z, "granule_size": <MB as a string>, "links": [data# to the cloud
  host, s3# to s3://prod-lads/..., an OPeNDAP link, an *inherited* data# collection link]}``.
  No token is needed.
- **The cloud host** ``GET /prod-lads/{PRODUCT}/{file}`` (§9, §13): with a valid
  ``Authorization: Bearer`` token, 303 to a signed URL on ANOTHER host name
  (``localhost`` vs ``127.0.0.1``), ``Cache-Control: private, max-age=<lifetime - 60>``
  (the Thin Egress App's). Without ``Authorization``: 302 to Earthdata Login (TEA's code).
  A token it does not know, an expired one, or one of a user who has not approved the
  application: 401 (the body is NOT CONFIRMED: plain text here; a client must not read
  it). A user who has not accepted the EULA: 403 JSON ``{"status_code": 403, "error":
  "invalid_token", "error_description": "EULA Acceptance Failure", "resolution_url": ...}``.
  A file it does not have: 404 (NOT CONFIRMED for this host).
- **The signed host** ``GET /signed/prod-lads/{PRODUCT}/{file}?X-Amz-...``: the bytes, with
  ``Range``; a request that also carries ``Authorization`` gets S3's 400 "Only one auth
  mechanism allowed"; an expired signature 403 ``AccessDenied`` "Request has expired"; a
  wrong signature 403 ``SignatureDoesNotMatch``. ``.signed_auth`` records the
  ``Authorization`` header (or None) of every signed request: the token never belongs
  there.

Files come from a LAADS tree (``archive/allData/{collection}/{PRODUCT}/{YYYY}/{DOY}/``, as
:mod:`.blackmarble_tiles` writes it), found by name; the cloud layout is flat.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import hmac
import json
import secrets
import time
from pathlib import Path
from urllib.parse import parse_qs, quote

from .calendar import from_index, month_index
from .httpserver import StandinHandler, StandinServer
from .laads import earthdata_login_page

CMR = "/search/granules.json"
CLOUD = "/prod-lads/"
SIGNED = "/signed/prod-lads/"
VERSIONS = {"002": "2", "001": "1"}  # file version -> CMR version (§8)
MAX_PAGE = 2000


def make_token(user: str, expires: float | None = None) -> str:
    """A JWT-shaped Earthdata user token (header.payload.signature, payload with ``uid``
    and ``exp``), as Earthdata Login's user tokens are; the signature is made up."""

    def b64(obj) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    exp = int(expires if expires is not None else time.time() + 60 * 86400)
    payload = {"type": "User", "uid": user, "exp": exp, "iat": int(time.time())}
    return f"{b64({'typ': 'JWT', 'alg': 'RS256'})}.{b64(payload)}.{secrets.token_urlsafe(16)}"


def _s3_error(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<RequestId>{secrets.token_hex(8).upper()}</RequestId></Error>"
    ).encode()


class _Handler(StandinHandler):
    server: EarthdataServer

    def route(self) -> None:
        path = self.url_path
        if path == "/login" or path.startswith("/oauth/"):
            return self.reply(200, earthdata_login_page(), "text/html; charset=utf-8")
        if self.command not in ("GET", "HEAD"):
            return self.error(405)
        if path == CMR:
            return self.search()
        if path.startswith(SIGNED):
            return self.signed(path[len(SIGNED) :])
        if path.startswith(CLOUD):
            return self.cloud(path[len(CLOUD) :])
        return self.error(404)

    # ----------------------------------------------------------------------- CMR

    def search(self) -> None:
        srv = self.server
        q = parse_qs(self.query, keep_blank_values=True)
        if "page_num" in q or "offset" in q:
            return self.reply_json(400, {"errors": ["page_num and offset are deprecated"]})
        fault = self.take_fault()
        if fault is True:
            return
        short = (q.get("short_name") or [""])[0]
        version = (q.get("version") or [""])[0]
        size = int((q.get("page_size") or ["10"])[0])
        if not 0 <= size <= MAX_PAGE:
            return self.reply_json(400, {"errors": [f"page_size must be 0..{MAX_PAGE}"]})
        windows = [_window(t) for t in q.get("temporal[]", []) + q.get("temporal", [])]
        patterns = q.get("producer_granule_id[]", []) + q.get("readable_granule_name[]", [])
        hits = []
        for n, (product, name, month) in enumerate(srv.granules()):
            if short and product != short:
                continue
            if version and VERSIONS.get(name.split(".")[3]) != version:
                continue
            start, end = _month_span(month)
            if windows and not any(a <= end and start <= b for a, b in windows):
                continue
            if patterns and not any(fnmatch.fnmatchcase(name, p) for p in patterns):
                continue
            hits.append((n, product, name, month))
        sort = (q.get("sort_key[]") or q.get("sort_key") or [""])[0]
        if sort.lstrip("+-") == "start_date":
            hits.sort(key=lambda h: (h[3], h[0]), reverse=sort.startswith("-"))
        elif sort:
            return self.reply_json(400, {"errors": [f"sort key {sort} is not supported here"]})
        after = self.headers.get("CMR-Search-After")
        if after:
            done = json.loads(after)[-1]  # the position in this order of the last one sent
            hits_left = hits[done + 1 :]
        else:
            hits_left = hits
        page = hits_left[:size]
        headers = {"CMR-Hits": str(len(hits)), "CMR-Request-Id": secrets.token_hex(8)}
        if size and len(hits_left) > size:
            position = len(hits) - len(hits_left) + size - 1
            headers["CMR-Search-After"] = json.dumps(["laads", 0, position])
        feed = {
            "feed": {
                "updated": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "id": srv.origin + CMR + "?" + self.query,
                "title": "ECHO granule metadata",
                "entry": [srv.entry(*h) for h in page],
            }
        }
        body = json.dumps(feed).encode()
        self.reply(200, body, "application/json;charset=utf-8", headers, fault)

    # --------------------------------------------------------------------- cloud

    def cloud(self, rel: str) -> None:
        srv = self.server
        auth = self.headers.get("Authorization")
        srv.note_auth(auth)
        if not auth:
            return self.redirect(srv.login_location(), 302)
        user = srv.user_of(auth.removeprefix("Bearer ").strip())
        if user is None or not user["approved"]:
            return self.reply(401, b"Unauthorized\n", "text/plain")
        if not user["eula"]:
            payload = {
                "status_code": 403,
                "error": "invalid_token",
                "error_description": "EULA Acceptance Failure",
                "resolution_url": srv.other_origin + "/approve_app?client_id=LAADS",
            }
            return self.reply_json(403, payload)
        fault = self.take_fault()
        if fault is True:
            return
        if srv.find(rel) is None:
            return self.reply(404, b"Not Found\n", "text/plain")
        lifetime = srv.signed_lifetime
        headers = {
            "Location": srv.sign(rel, user["uid"]),
            "Cache-Control": f"private, max-age={max(0, int(lifetime) - 60)}",
        }
        self.reply(303, b"", "text/plain", headers)

    def signed(self, rel: str) -> None:
        srv = self.server
        auth = self.headers.get("Authorization")
        srv.note_signed_auth(auth)
        if auth:
            body = _s3_error(
                "InvalidArgument",
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                "Signature query string parameter or the Authorization header should be "
                "specified",
            )
            return self.reply(400, body, "application/xml")
        q = {k: v[0] for k, v in parse_qs(self.query).items()}
        try:
            expires_at = float(q["X-Amz-Date"]) + float(q["X-Amz-Expires"])
            good = hmac.compare_digest(q["X-Amz-Signature"], srv.signature(rel, q))
        except (KeyError, ValueError):
            good, expires_at = False, 0.0
        if not good:
            body = _s3_error("SignatureDoesNotMatch", "The request signature we calculated does "
                             "not match the signature you provided.")  # fmt: skip
            return self.reply(403, body, "application/xml")
        if time.time() > expires_at:
            return self.reply(
                403, _s3_error("AccessDenied", "Request has expired"), "application/xml"
            )
        fault = self.take_fault()
        if fault is True:
            return
        target = srv.find(rel)
        if target is None:
            return self.reply(404, _s3_error("NoSuchKey", "The specified key does not exist."))
        self.serve_file(target, fault)


def _window(text: str) -> tuple[str, str]:
    a, _, b = text.partition(",")
    return a.strip() or "0000", b.strip() or "9999"


def _month_span(month: str) -> tuple[str, str]:
    nxt = from_index(month_index(month) + 1)
    return f"{month}-01T00:00:00Z", f"{nxt}-01T00:00:00Z"


class EarthdataServer(StandinServer):
    """CMR, the LAADS cloud host and its signed-URL host, serving a LAADS tree ``root``.

    ``users``: {token: {"uid", "approved", "eula"}} (:meth:`add_user` makes one);
    ``signed_lifetime``: seconds a signed URL lives (TEA: an hour).
    """

    handler_class = _Handler
    data_suffix = ".h5"
    server_software = "awselb/2.0"

    def __init__(self, root, port: int = 0, signed_lifetime: float = 3600.0):
        super().__init__(root, port)
        self.users: dict[str, dict] = {}
        self.signed_lifetime = signed_lifetime
        self.signed_auth: list[str | None] = []
        self._key = secrets.token_bytes(16)
        self._granules: list[tuple[str, str, str, Path]] | None = None

    # ----------------------------------------------------------------- accounts

    def add_user(self, uid: str, approved: bool = True, eula: bool = True, expires=None) -> str:
        """A new user token (JWT-shaped; ``expires``: unix time, default 60 days on)."""
        token = make_token(uid, expires)
        self.users[token] = {"uid": uid, "approved": approved, "eula": eula, "exp": expires}
        return token

    def user_of(self, token: str) -> dict | None:
        user = self.users.get(token)
        if user is None:
            return None
        if user["exp"] is not None and user["exp"] < time.time():
            return None
        return user

    # ------------------------------------------------------------------- files

    def granules(self) -> list[tuple[str, str, str]]:
        """(product, file name, month) of every file in the tree, in a fixed order."""
        if self._granules is None:
            found = []
            for f in sorted(Path(self.root).glob("archive/allData/*/*/*/*/*.h5")):
                product, year, doy = f.parts[-4], f.parts[-3], f.parts[-2]
                found.append((product, f.name, _month_of(year, doy), f))
            self._granules = found
        return [g[:3] for g in self._granules]

    def rescan(self) -> None:
        """Look at the tree again (after a test replaced or removed a file)."""
        self._granules = None

    def find(self, rel: str) -> Path | None:
        product, _, name = rel.partition("/")
        self.granules()
        for p, n, _, path in self._granules:
            if p == product and n == name and path.exists():
                return path
        return None

    def entry(self, n: int, product: str, name: str, month: str) -> dict:
        start, end = _month_span(month)
        path = self.find(f"{product}/{name}")
        size = path.stat().st_size / (1024 * 1024) if path else 0.0
        href = f"{self.origin}{CLOUD}{product}/{quote(name)}"
        return {
            "id": f"G{3000000000 + n}-LAADS",
            "title": f"LAADS:{7000000 + n}",
            "producer_granule_id": name,
            "time_start": start.replace("Z", ".000Z"),
            "time_end": end.replace("Z", ".000Z"),
            "granule_size": f"{size:.6f}",
            "data_center": "LAADS",
            "collection_concept_id": f"C1000000{n % 7}-LAADS",
            "online_access_flag": True,
            "links": [
                {
                    "rel": "http://esipfed.org/ns/fedsearch/1.1/data#",
                    "title": "Download " + name,
                    "hreflang": "en-US",
                    "href": href,
                },  # fmt: skip
                {
                    "rel": "http://esipfed.org/ns/fedsearch/1.1/s3#",
                    "title": "S3",
                    "hreflang": "en-US",
                    "href": f"s3://prod-lads/{product}/{name}",
                },  # fmt: skip
                {
                    "rel": "http://esipfed.org/ns/fedsearch/1.1/service#",
                    "title": "OPeNDAP",
                    "href": f"{self.other_origin}/opendap/{product}/{name}.html",
                },  # fmt: skip
                {
                    "inherited": True,
                    "length": "0MB",
                    "rel": "http://esipfed.org/ns/fedsearch/1.1/data#",
                    "href": f"{self.origin}/virtual-directory/collections/{product}",
                },  # fmt: skip
            ],
        }

    # ------------------------------------------------------------ signed URLs

    def signature(self, rel: str, q: dict) -> str:
        text = f"{rel}|{q.get('X-Amz-Date')}|{q.get('X-Amz-Expires')}|{q.get('A-userid')}"
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def sign(self, rel: str, uid: str) -> str:
        q = {
            "A-userid": uid,
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Date": f"{time.time():.3f}",
            "X-Amz-Expires": f"{self.signed_lifetime:g}",
        }
        q["X-Amz-Signature"] = self.signature(rel, q)
        query = "&".join(f"{k}={quote(v, safe='')}" for k, v in q.items())
        return f"{self.other_origin}{SIGNED}{quote(rel)}?{query}"

    def note_signed_auth(self, header: str | None) -> None:
        with self._lock:
            self.signed_auth.append(header)

    def reset_log(self) -> None:
        super().reset_log()
        with self._lock:
            self.signed_auth.clear()

    def login_location(self) -> str:
        return f"{self.other_origin}/oauth/authorize?client_id=LAADS&response_type=code"

    @property
    def cmr_url(self) -> str:
        return f"{self.origin}/search/"

    @property
    def cloud_url(self) -> str:
        return f"{self.origin}/prod-lads"


def _month_of(year: str, doy: str) -> str:
    import datetime as dt

    d = dt.date(int(year), 1, 1) + dt.timedelta(days=int(doy) - 1)
    return f"{d.year:04d}-{d.month:02d}"
