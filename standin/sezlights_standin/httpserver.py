"""The shared base of the stand-in servers: a real HTTP server on 127.0.0.1.

:class:`StandinServer` serves a directory tree over HTTP/1.1 (keep-alive) with
``Content-Length``, ``Accept-Ranges`` and single-range ``Range`` requests (206 with
``Content-Range``; 416 past the end), the way Apache answers them (``.ranges = False``:
a server that ignores ``Range`` and always sends the whole file). Used as it is, it is
a plain file server without any login (handy as the "other host" of a redirect test);
:mod:`.eog` and :mod:`.laads` put the real services' logins and listings in front.

What tests get from it:

- ``.requests``: ``(method, path, status)`` of every request, the path URL-decoded and
  without its query (so a query can never leak anything into the log). A request is
  recorded *before* the first byte of its response is sent, so a client can never see
  a response the log does not have yet. A response whose body a fault broke on
  purpose ("cut", "reset", "stall"), or left unanswered ("hang"), is recorded with
  status :data:`BROKEN` (599).
- ``.file_gets(suffix)``: paths of the successful (200/206) GETs ending with ``suffix``.
- ``.bytes_sent`` and ``.bytes_by_path``: body bytes sent (what a client transferred).
- files with ``Last-Modified`` and Apache's ``ETag`` (``etags = False``: none), the
  conditional ``If-Match`` and ``If-Unmodified-Since`` (412 when they fail), and
  ``Range`` (``ranges = False``: a server that ignores it, answering 200 with the whole
  file and ``Accept-Ranges: none``).
- ``.auth_headers``: the ``Authorization`` header (or None) of every data-file request,
  in order, so a test can check that a token never reaches another host. They stay in
  memory: nothing here prints, logs or writes a header, a form or a query string.
- faults, queued per path substring with ``add_faults(match, *faults)`` and taken one
  per request at the moment the normal answer would be sent (after the login check, so
  an unauthenticated request never uses one up):

  ========== =====================================================================
  "503"      503 with ``Retry-After: 0``
  "500"      500 Internal Server Error
  "401"      401 Unauthorized
  "403"      403 Forbidden
  "html"     200 with an HTML login page instead of the file (the service's own page)
  "cut"      half the body, then the connection closes: body shorter than Content-Length
  "reset"    half the body, then a TCP RST (``SO_LINGER`` 0 before close)
  "stall"    half the body, then silence for ``stall_seconds``, then close
  "hang"     no answer at all (not even a status line) for ``stall_seconds``, then close
  "redirect" 302 to ``redirect_base`` + the same path (e.g. another host name)
  "login"    302 to the service's login page, as for an unauthenticated request
  ========== =====================================================================

A fault queued for the EOG stand-in's token endpoint (``add_faults`` with
``/openid-connect/token``) is taken by token requests the same way.

The request log's 599 and the fault names follow the old ``sezlights.devserver``
(tests/test_faults_network.py relies on them).
"""

from __future__ import annotations

import email.utils
import errno
import html
import io
import json
import re
import socket
import struct
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

FAULTS = ("503", "500", "401", "403", "html", "cut", "reset", "stall", "hang", "redirect", "login")
BODY_FAULTS = ("cut", "reset", "stall")
BROKEN = 599  # logged status of a response whose body a fault broke on purpose
CHUNK = 1 << 20
HOST = "127.0.0.1"
OTHER_HOST = "localhost"  # the same socket under another host name (a different origin)

CONTENT_TYPES = {
    ".tgz": "application/x-gzip",  # Apache's stock httpd.conf: AddType application/x-gzip .gz .tgz
    ".gz": "application/x-gzip",
    ".h5": "application/x-hdf5",
    ".tif": "image/tiff",
    ".csv": "text/csv",
    ".json": "application/json",
    ".txt": "text/plain",
    ".html": "text/html",
}

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def byte_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """The ``(first, last)`` bytes a ``Range`` header asks for, as Apache reads it.

    None: no usable range (absent, malformed, several ranges, last < first): send the
    whole file with 200. ``"unsatisfiable"``: it starts at or past the end (416).
    ``bytes=N-`` runs to the end; ``bytes=-N`` is the last N bytes.
    """
    if not header:
        return None
    m = _RANGE.match(header.strip())
    if not m or (not m.group(1) and not m.group(2)):
        return None
    first, last = m.group(1), m.group(2)
    if not first:  # suffix range
        n = int(last)
        if n == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - n), size - 1
    a = int(first)
    if a >= size:
        return "unsatisfiable"
    b = int(last) if last else size - 1
    if b < a:
        return None
    return a, min(b, size - 1)


def http_date(ts: float) -> str:
    return email.utils.formatdate(ts, usegmt=True)


def apache_error(status: int, text: str = "") -> bytes:
    """Apache's stock error page for ``status`` (what ``ErrorDocument`` is unset gives)."""
    reason = HTTPStatus(status).phrase
    body = text or {
        401: "This server could not verify that you\nare authorized to access the document\n"
        "requested.  Either you supplied the wrong\ncredentials (e.g., bad password), or your\n"
        "browser doesn't understand how to supply\nthe credentials required.",
        403: "You don't have permission to access this resource.",
        404: "The requested URL was not found on this server.",
        405: "The requested method is not allowed for this URL.",
        416: "None of the range-specifier values in the Range\n"
        "request-header field overlap the current extent\nof the selected resource.",
        500: "The server encountered an internal error or\nmisconfiguration and was unable to "
        "complete\nyour request.",
        503: "The server is temporarily unable to service your\nrequest due to maintenance "
        "downtime or capacity\nproblems. Please try again later.",
    }.get(status, reason)
    return (
        '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n'
        f"<title>{status} {reason}</title>\n</head><body>\n<h1>{reason}</h1>\n"
        f"<p>{body}</p>\n</body></html>\n"
    ).encode()


def apache_redirect(status: int, location: str) -> bytes:
    """Apache's body of a 301/302: "... The document has moved <a href=...>here</a>."

    Stock Apache; the body of EOG's real 302 to its login is not in the public
    evidence (docs/evidence/eog.md), only its status and ``Location``.
    """
    reason = HTTPStatus(status).phrase
    return (
        '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n'
        f"<title>{status} {reason}</title>\n</head><body>\n<h1>{reason}</h1>\n"
        f'<p>The document has moved <a href="{html.escape(location)}">here</a>.</p>\n'
        "</body></html>\n"
    ).encode()


class StandinHandler(BaseHTTPRequestHandler):
    """Request handler of :class:`StandinServer`; subclasses override :meth:`route`.

    Attributes set per request: ``url_path`` (URL-decoded path), ``query`` (raw query
    string), ``body`` (the request body of a POST, read before answering).
    """

    server: StandinServer
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY: headers and body go out as two writes; with Nagle's algorithm the
    # body of every answer on a kept-alive connection waited for the client's delayed
    # ACK (about 40 ms a request on Linux), a cost of this server, not of the real ones
    disable_nagle_algorithm = True

    # ----------------------------------------------------------------- plumbing

    def version_string(self) -> str:
        return self.server.server_software

    def log_message(self, format, *args):  # noqa: A002 - quiet: requests are recorded instead
        pass

    def do_GET(self):
        self._dispatch()

    def do_HEAD(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def _dispatch(self):
        split = urlsplit(self.path)
        self.url_path = unquote(split.path)
        self.query = split.query
        self.body = b""
        if self.command == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            self.body = self.rfile.read(length) if length > 0 else b""
        try:
            self.route()
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    # ---------------------------------------------------------------- responses

    def send_head(
        self,
        status: int,
        length: int,
        ctype: str,
        headers: dict | None = None,
        fault: str | None = None,
    ) -> None:
        """Record the request, then send the status line and headers."""
        broken = fault in BODY_FAULTS and self.command != "HEAD"
        self.server.record(self.command, self.url_path, BROKEN if broken else status)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if broken:
            self.send_header("Connection", "close")
        self.end_headers()

    def reply(
        self,
        status: int,
        body: bytes = b"",
        ctype: str = "text/html; charset=iso-8859-1",
        headers: dict | None = None,
        fault: str | None = None,
    ) -> None:
        """A whole response from ``body``; ``fault`` ("cut"/"reset"/"stall") breaks it."""
        self.send_head(status, len(body), ctype, headers, fault)
        if self.command != "HEAD":
            self._send_body(io.BytesIO(body), len(body), fault)

    def reply_json(self, status: int, payload, headers: dict | None = None, fault=None) -> None:
        body = json.dumps(payload).encode()
        self.reply(status, body, "application/json", headers, fault)

    def error(self, status: int, fault: str | None = None) -> None:
        body, ctype = self.server.error_page(status)
        headers = {"Retry-After": "0"} if status == 503 else None
        self.reply(status, body, ctype, headers, fault)

    def redirect(self, location: str, status: int = 302) -> None:
        self.reply(status, apache_redirect(status, location), headers={"Location": location})

    def serve_file(self, target: Path, fault: str | None = None, ctype: str | None = None):
        """``target`` with Range support (unless the server's ``ranges`` is off) and
        Apache's conditional requests; ``fault`` breaks the body."""
        srv = self.server
        st = target.stat()
        size = st.st_size
        headers = {
            "Accept-Ranges": "bytes" if srv.ranges else "none",
            "Last-Modified": http_date(st.st_mtime),
        }
        etag = f'"{size:x}-{int(st.st_mtime * 1e6):x}"'  # Apache's FileETag MTime Size
        if srv.etags:
            headers["ETag"] = etag
        if not self._preconditions_hold(etag if srv.etags else None, st.st_mtime):
            body, page_type = srv.error_page(412)
            return self.reply(412, body, page_type)
        rng = byte_range(self.headers.get("Range"), size) if srv.ranges else None
        if rng == "unsatisfiable":
            body, page_type = self.server.error_page(416)
            return self.reply(416, body, page_type, {"Content-Range": f"bytes */{size}"})
        status, first, last = 200, 0, size - 1
        if rng:
            status, (first, last) = 206, rng
            headers["Content-Range"] = f"bytes {first}-{last}/{size}"
        length = last - first + 1
        self.send_head(
            status, length, ctype or self.server.content_type(target.name), headers, fault
        )
        if self.command == "HEAD":
            return
        with open(target, "rb") as f:
            f.seek(first)
            self._send_body(f, length, fault)

    def _preconditions_hold(self, etag: str | None, mtime: float) -> bool:
        """``If-Match`` (the file's ETag, or ``*``) and ``If-Unmodified-Since`` (the file
        not changed after that date, to the second) as Apache checks them (RFC 9110
        13.1.1, 13.1.4); False answers 412 Precondition Failed."""
        match = self.headers.get("If-Match")
        if match is not None:
            tags = [t.strip() for t in match.split(",")]
            if "*" not in tags and (etag is None or etag not in tags):
                return False
        since = self.headers.get("If-Unmodified-Since")
        if since is not None and match is None:
            try:
                when = email.utils.parsedate_to_datetime(since).timestamp()
            except (TypeError, ValueError):
                return True  # an invalid date is ignored
            if int(mtime) > when:
                return False
        return True

    def _send_body(self, f, length: int, fault: str | None) -> None:
        todo = length // 2 if fault in BODY_FAULTS else length
        while todo > 0:
            chunk = f.read(min(CHUNK, todo))
            if not chunk:
                break
            # Counted before the write: the client can have the whole body (and the test
            # read the count) before this thread runs its next line. A write that fails
            # (the client hung up) takes its count back.
            self.server.count_bytes(self.url_path, len(chunk))
            try:
                self.wfile.write(chunk)
            except OSError:
                self.server.count_bytes(self.url_path, -len(chunk))
                raise
            todo -= len(chunk)
        if fault in BODY_FAULTS:
            self._break(fault)

    def _break(self, fault: str) -> None:
        self.wfile.flush()
        self.close_connection = True
        if fault == "stall":
            time.sleep(self.server.stall_seconds)
        elif fault == "reset":
            # SO_LINGER on, 0 s: close() drops the connection with a RST, not a FIN. The
            # socket must really close here (not after socketserver's shutdown(SHUT_WR),
            # which would send a FIN first), so the reader's file (which holds a reference
            # to the socket) is closed first. The writer holds none; it stays open for the
            # handler's final flush.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.connection.close()

    # ------------------------------------------------------------------- faults

    def take_fault(self) -> str | None | bool:
        """Take this path's next queued fault.

        Answers a fault that replaces the response and returns True; returns the name
        of a body fault (to pass on to :meth:`reply`/:meth:`serve_file`), or None.
        """
        fault = self.server.next_fault(self.url_path)
        if fault is None or fault in BODY_FAULTS:
            return fault
        if fault in ("503", "500", "401", "403"):
            self.error(int(fault))
        elif fault == "hang":  # a server that accepted the request and never answers
            self.server.record(self.command, self.url_path, BROKEN)
            self.close_connection = True
            time.sleep(self.server.stall_seconds)
        elif fault == "html":
            self.reply(200, self.server.login_page(), "text/html; charset=utf-8")
        elif fault == "redirect":
            base = (self.server.redirect_base or self.server.origin).rstrip("/")
            self.redirect(base + self.path)
        elif fault == "login":
            self.redirect(self.server.login_location())
        return True

    # ------------------------------------------------------------------ routing

    def route(self) -> None:
        """Plain file server: the tree under ``root`` (no login, simple listings)."""
        if self.url_path == "/login":
            return self.reply(200, self.server.login_page(), "text/html; charset=utf-8")
        if self.command not in ("GET", "HEAD"):
            return self.error(405)
        target = self.server.resolve(self.url_path)
        if target is None or not target.is_dir():
            self.server.note_auth(self.headers.get("Authorization"))
        self.serve_tree(target, self.url_path, _plain_listing, "text/html; charset=iso-8859-1")

    def serve_tree(self, target: Path | None, path: str, listing, ctype: str) -> None:
        """A folder (301 to its slash form, then ``listing(path, folder)``), a file, or 404,
        after any queued fault."""
        fault = self.take_fault()
        if fault is True:
            return
        if target is None:
            return self.error(404, fault)
        if target.is_dir():
            if not path.endswith("/"):
                return self.redirect(self.server.absolute(path + "/"), 301)
            return self.reply(200, listing(path, target), ctype, fault=fault)
        return self.serve_file(target, fault)


class StandinServer(ThreadingHTTPServer):
    """A stand-in service on 127.0.0.1 (``port`` 0: a free port), run in a thread.

    ``with StandinServer(root) as srv: requests.get(srv.url + "/file")``. ``prefix`` is
    the URL path the tree is served under (``srv.url`` includes it).
    """

    daemon_threads = True
    allow_reuse_address = True
    handler_class: type[StandinHandler] = StandinHandler
    server_software = "Apache"
    data_suffix = ""  # file_gets() default

    def __init__(self, root=None, port: int = 0, prefix: str = ""):
        super().__init__((HOST, port), self.handler_class)
        self.root = Path(root).resolve() if root is not None else None
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.requests: list[tuple[str, str, int]] = []
        self.auth_headers: list[str | None] = []
        self.bytes_by_path: dict[str, int] = {}
        self.stall_seconds = 30.0
        self.redirect_base: str | None = None
        self.ranges = True  # False: a ranged GET gets the whole file with 200
        self.etags = True  # False: no ETag header (Apache's FileETag None)
        self._faults: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- addresses

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{HOST}:{self.port}"

    @property
    def other_origin(self) -> str:
        """``http://localhost:<port>``: this same server under another host name, so a
        client treats it as a different host (and must not send its token there)."""
        return f"http://{OTHER_HOST}:{self.port}"

    @property
    def url(self) -> str:
        """Base URL of the served tree (origin + prefix)."""
        return self.origin + self.prefix

    def absolute(self, path: str) -> str:
        return self.origin + quote(path)

    # ------------------------------------------------------------------ the tree

    def relative(self, path: str) -> str | None:
        """``path`` relative to the prefix, or None when it is outside it."""
        if self.prefix:
            if path != self.prefix and not path.startswith(self.prefix + "/"):
                return None
            path = path[len(self.prefix) :]
        return path.lstrip("/")

    def resolve(self, path: str) -> Path | None:
        """The existing file or folder a URL path names, or None (missing, outside)."""
        rel = self.relative(path)
        if rel is None or self.root is None:
            return None
        if any(part.startswith(".") for part in Path(rel).parts):
            return None  # hidden and temporary files are never served
        target = (self.root / rel).resolve()
        if self.root not in (target, *target.parents) or not target.exists():
            return None
        return target

    def content_type(self, name: str) -> str:
        return CONTENT_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")

    # ------------------------------------------------------------ the service's pages

    def login_location(self) -> str:
        """Where the "login" fault (and, in subclasses, a missing login) redirects."""
        return f"{self.other_origin}/login"

    def login_page(self) -> bytes:
        """The HTML login page (the "html" fault's body)."""
        return (
            b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>"
            b'<form method="post" action="/login"><input name="username"/>'
            b'<input name="password" type="password"/></form></body></html>\n'
        )

    def error_page(self, status: int) -> tuple[bytes, str]:
        return apache_error(status), "text/html; charset=iso-8859-1"

    # ------------------------------------------------------------- log and faults

    def record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.requests.append((method, path, status))

    def count_bytes(self, path: str, n: int) -> None:
        with self._lock:
            self.bytes_by_path[path] = self.bytes_by_path.get(path, 0) + n

    @property
    def bytes_sent(self) -> int:
        """Body bytes sent since the log was last reset (every response, faults included)."""
        with self._lock:
            return sum(self.bytes_by_path.values())

    def note_auth(self, header: str | None) -> None:
        with self._lock:
            self.auth_headers.append(header)

    def file_gets(self, suffix: str | None = None) -> list[str]:
        """Paths of the successful (200/206) GETs ending with ``suffix`` (default: the
        service's data files, ``.tgz`` for EOG, ``.h5`` for LAADS)."""
        suffix = self.data_suffix if suffix is None else suffix
        with self._lock:
            return [
                p
                for m, p, s in self.requests
                if m == "GET" and p.endswith(suffix) and s in (200, 206)
            ]

    def reset_log(self) -> None:
        """Forget the recorded requests and Authorization headers."""
        with self._lock:
            self.requests.clear()
            self.auth_headers.clear()
            self.bytes_by_path.clear()

    def add_faults(self, match: str, *faults: str) -> None:
        """Queue ``faults`` for the next requests whose path contains ``match``."""
        unknown = [f for f in faults if f not in FAULTS]
        if unknown:
            raise ValueError(f"unknown fault(s) {unknown}; known: {', '.join(FAULTS)}")
        with self._lock:
            self._faults.setdefault(match, []).extend(faults)

    def next_fault(self, path: str) -> str | None:
        """Take the next fault queued for a substring of ``path`` (None if none)."""
        with self._lock:
            for match, queue in self._faults.items():
                if match in path and queue:
                    return queue.pop(0)
        return None

    # ------------------------------------------------------------------ running

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return  # clients hang up; faults close sockets on purpose
        if isinstance(exc, OSError) and exc.errno in (errno.EBADF, errno.ENOTCONN):
            return
        super().handle_error(request, client_address)

    def start(self):
        """Serve in a daemon thread; returns self."""
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _plain_listing(path: str, folder: Path) -> bytes:
    rows = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue
        name = p.name + ("/" if p.is_dir() else "")
        rows.append(f'<li><a href="{quote(name)}">{html.escape(name)}</a></li>')
    return (
        f"<html><head><title>Index of {html.escape(path)}</title></head><body><ul>\n"
        + "\n".join(rows)
        + "\n</ul></body></html>\n"
    ).encode()
