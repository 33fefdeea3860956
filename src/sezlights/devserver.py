"""A local stand-in for the EOG server, for the demo and the tests.

Serves a directory tree laid out like ``eogdata.mines.edu/nighttime_light/monthly/v10``
on 127.0.0.1: HTML directory indexes (with exact byte sizes, as nginx's autoindex
prints them), files behind a bearer token, HTTP ``Range`` requests, and an OpenID
Connect-style password-grant token endpoint at ``/token``. Every request is
counted, so tests can check what a run fetched, and faults can be queued per
file (``server.add_faults("75N060W", "503", "503", "cut")``) to make a download
fail for real: ``503``, ``401``, ``403``, ``html`` (a login page with status 200),
``cut`` (half the body, then the connection closes: a body shorter than its
Content-Length), ``reset`` (half the body, then a TCP reset), ``stall`` (half the
body, then the connection hangs for ``stall_seconds``) and ``redirect`` (a 302 to
the same path under ``redirect_base``, e.g. another host).

``python -m sezlights.devserver --root DIR --port 8765 --token demo-token``
"""

from __future__ import annotations

import argparse
import html
import json
import os
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit


class TileServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        root,
        port: int = 0,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        prefix: str = "",
    ):
        super().__init__(("127.0.0.1", port), _Handler)
        self.root = Path(root).resolve()
        self.token = token
        self.username, self.password = username, password
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.requests: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._faults: dict[str, list[str]] = {}
        self.stall_seconds = 30.0
        self.redirect_base: str | None = None
        self.auth_headers: list[str | None] = []  # Authorization header of each file request

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # clients hang up; fine
            super().handle_error(request, client_address)

    def add_faults(self, match: str, *faults: str) -> None:
        """Queue faults for the next requests of files whose path contains ``match``."""
        with self._lock:
            self._faults.setdefault(match, []).extend(faults)

    def next_fault(self, path: str) -> str | None:
        with self._lock:
            for match, queue in self._faults.items():
                if match in path and queue:
                    return queue.pop(0)
        return None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{self.prefix}"

    @property
    def token_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/token"

    def record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.requests.append((method, path, status))

    def file_gets(self, suffix: str = ".tgz") -> list[str]:
        with self._lock:
            return [
                p
                for m, p, s in self.requests
                if m == "GET" and p.endswith(suffix) and s in (200, 206)
            ]

    def start(self) -> TileServer:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    server: TileServer
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet; requests are recorded instead
        pass

    def _send(self, status: int, body: bytes = b"", ctype: str = "text/plain", headers=None):
        self.server.record(self.command, urlsplit(self.path).path, status)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_POST(self):
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length", 0))
        form = parse_qs(self.rfile.read(length).decode())
        if path != "/token":
            return self._send(404, b"not found")
        user, pw = form.get("username", [""])[0], form.get("password", [""])[0]
        if self.server.username and (user, pw) == (self.server.username, self.server.password):
            body = json.dumps(
                {"access_token": self.server.token, "token_type": "Bearer", "expires_in": 86400}
            ).encode()
            return self._send(200, body, "application/json")
        return self._send(401, b'{"error":"invalid_grant"}', "application/json")

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path = unquote(urlsplit(self.path).path)
        prefix = self.server.prefix
        if prefix and not (path == prefix or path.startswith(prefix + "/")):
            return self._send(404, b"not found")
        rel = path[len(prefix) :].lstrip("/")
        target = (self.server.root / rel).resolve()
        if self.server.root not in (target, *target.parents) or not target.exists():
            return self._send(404, b"not found")
        if target.is_dir():
            if not path.endswith("/"):
                return self._send(301, b"", headers={"Location": path + "/"})
            return self._send(200, _index(path, target), "text/html; charset=utf-8")
        with self.server._lock:
            self.server.auth_headers.append(self.headers.get("Authorization"))
        if self.server.token:
            if self.headers.get("Authorization", "") != f"Bearer {self.server.token}":
                return self._send(401, b"login required", headers={"WWW-Authenticate": "Bearer"})
        fault = self.server.next_fault(path)
        if fault == "503":
            return self._send(503, b"busy", headers={"Retry-After": "0"})
        if fault in ("401", "403"):
            return self._send(int(fault), b"login required")
        if fault == "redirect":
            location = self.server.redirect_base.rstrip("/") + "/" + rel
            return self._send(302, b"", headers={"Location": location})
        if fault == "html":
            return self._send(200, b"<!DOCTYPE html><html><body>Sign in</body></html>", "text/html")
        size = target.stat().st_size
        start, end = 0, size - 1
        status = 200
        headers = {"Accept-Ranges": "bytes"}
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            a, _, b = rng[6:].partition("-")
            start = int(a) if a else 0
            end = min(int(b), size - 1) if b else size - 1
            if start >= size:
                return self._send(416, b"", headers={"Content-Range": f"bytes */{size}"})
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        # recorded before any byte is sent, so a client never sees a response
        # that the request log does not have yet
        broken = fault in ("cut", "reset", "stall")
        self.server.record(self.command, path, 599 if broken else status)
        self.send_response(status)
        self.send_header("Content-Type", "application/x-gzip")
        self.send_header("Content-Length", str(end - start + 1))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            with open(target, "rb") as f:
                f.seek(start)
                left = end - start + 1
                if broken:
                    half = left // 2
                    self.wfile.write(f.read(half))
                    self.wfile.flush()
                    if fault == "stall":
                        time.sleep(self.server.stall_seconds)
                    if fault == "reset":  # SO_LINGER 0: close() sends RST
                        self.connection.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                    self.close_connection = True
                    return
                while left > 0:
                    chunk = f.read(min(1 << 20, left))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    left -= len(chunk)


def _index(path: str, d: Path) -> bytes:
    rows = ['<a href="../">../</a>']
    for p in sorted(d.iterdir()):
        name = p.name + ("/" if p.is_dir() else "")
        stamp = time.strftime("%d-%b-%Y %H:%M", time.gmtime(p.stat().st_mtime))
        size = "-" if p.is_dir() else str(p.stat().st_size)
        pad = " " * max(1, 60 - len(name))
        link = f'<a href="{html.escape(name)}">{html.escape(name)}</a>'
        rows.append(f"{link}{pad}{stamp}{size:>20}")
    body = (
        f"<html><head><title>Index of {html.escape(path)}</title></head><body>"
        f"<h1>Index of {html.escape(path)}</h1><hr><pre>\n"
        + "\n".join(rows)
        + "\n</pre><hr></body></html>\n"
    )
    return body.encode()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="Serve a directory like the EOG tile server.")
    ap.add_argument("--root", required=True)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--prefix", default="")
    ap.add_argument("--token", default=os.environ.get("DEVSERVER_TOKEN"))
    ap.add_argument("--ready-file", help="write the base URL here once listening")
    a = ap.parse_args(argv)
    srv = TileServer(a.root, a.port, token=a.token, prefix=a.prefix)
    if a.ready_file:
        Path(a.ready_file).write_text(srv.url + "\n")
    print(f"serving {a.root} at {srv.url}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()


if __name__ == "__main__":
    main()
