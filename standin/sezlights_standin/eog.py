"""A local stand-in of EOG (``eogdata.mines.edu``) and its Keycloak realm ``eog``.

Modelled on the evidence in docs/evidence/eog.md (the section names below are that
file's; what the evidence does not settle is in its "What remains unknown"):

- **Token endpoint** ``POST /realms/eog/protocol/openid-connect/token`` ("Login": realm
  ``eog``, no ``/auth`` prefix), form-encoded: ``grant_type=password`` with
  ``client_id``, ``client_secret``, ``username``, ``password``; ``grant_type=refresh_token``
  with ``client_id``, ``client_secret``, ``refresh_token``. Client credentials may also
  come as HTTP Basic auth (standard Keycloak). The answer has Keycloak's shape (an
  INFERENCE: no EOG token response is public): a JWT-shaped ``access_token`` (random
  per grant), ``expires_in`` = ``token_lifetime`` (300 s: "Login", 5-minute tokens),
  ``refresh_expires_in`` (1800, the Keycloak default, unverified for EOG),
  ``refresh_token``, ``token_type``, ``not-before-policy``, ``session_state``, ``scope``.
  ``refresh_tokens=False`` leaves ``refresh_token`` and ``refresh_expires_in`` out (a
  Keycloak client can be set up that way; whether EOG's is, is unknown).
- **Errors** as Keycloak writes them ("Login", keycloak/keycloak's
  ``ClientIdAndSecretAuthenticator.java``): no client_id -> 400 ``invalid_client``
  "Missing client_id parameter"; unknown client -> 401 ``invalid_client`` "Invalid client
  or Invalid client credentials" -- and the old public client ``eogdata_oidc`` is unknown
  here ("Login": reported retired, per-account credentials, paid subscribers since
  2026-06-01); known client, wrong or missing secret -> 401 ``unauthorized_client``,
  same text; wrong user or password -> 401 ``invalid_grant`` "Invalid user
  credentials"; expired or unknown refresh token -> 400 ``invalid_grant`` "Token is not
  active". The realm also knows the Apache client ``eogdata-new-apache`` (the client of
  the browser login), which is confidential and has no direct grants: its secret is
  unknown to everyone, so a password grant with it gets 401 ``unauthorized_client``
  (StonerYan's downloader tries exactly that first).
- **Faults of the token endpoint**: ``token_faults("503", "503")`` answers the next two
  token requests with 503, ``token_faults("hang")`` leaves the next one unanswered for
  ``stall_seconds`` (see :mod:`.httpserver` for every fault).
- **Everything under the data prefix** (files *and* listings, "Unauthenticated
  requests": ``/nighttime_light/`` itself redirects) needs ``Authorization: Bearer
  <token>`` with a token this server issued that has not expired (checked when a
  request starts); otherwise mod_auth_openidc's answer: a 302 to
  ``.../realms/eog/protocol/openid-connect/auth?response_type=code&scope=openid%20email&
  client_id=eogdata-new-apache&state=...&redirect_uri=<percent-encoded /oauth2callback>&
  nonce=...`` (the browser-copied URL of a public README), with Apache's small "302
  Found" page. The login check runs before anything else (Apache's auth phase comes
  before mod_dir's 301 and before a 404), so nothing leaks without a token.
  ``unauthorized="401"`` answers 401 instead. ``login_realm`` (default ``eog``) is the
  realm the redirect names: another name models a realm that moved, whose login URL
  answers 404 ``{"error": "Realm does not exist"}``, as Keycloak does.
- **The login page**, ``GET .../openid-connect/auth`` -> 200 HTML: the Keycloak login
  form of the only public copy ("Unauthenticated requests": pyalanysis/pyalanysis
  ``tests/viirsdnb_utils.py`` ``mines_login_form``, old master realm; ``form#kc-form-login``,
  username/password inputs, forgot-password, register and locale links) with the new
  realm's URLs (no ``/auth``, client ``eogdata-new-apache``, ``client_data``). The
  browser flow after it (cookies, code exchange) is not modelled: posting the form
  answers Keycloak's "Cookie not found" page (status 400), as a client without
  Keycloak's cookies gets.
- **The Keycloak host is another host name**: the realm lives on ``eogauth-new`` (or
  ``eogauth``), the data on ``eogdata``, so :attr:`EOGServer.token_url` and the login
  redirect use ``http://localhost:<port>`` while the data is served as
  ``http://127.0.0.1:<port>`` (one socket, two origins): a client that follows the
  redirect with its token shows in nothing but its own behaviour, and the token
  endpoint is a different origin.
- **Listings** ("Listings"): Apache autoindex with the Apaxy theme, in exactly the
  structure of pyalanysis/pyalanysis ``tests/viirsdnb_utils.py`` ``mines_dir_listing``:
  ``table#indexlist``, a ``tr.indexhead`` row of ``th`` sort links, data rows
  ``tr.even``/``tr.odd`` (the first one "even") with the cells ``indexcolicon`` (link +
  img), ``indexcolname`` (link), ``indexcollastmod`` (``YYYY-MM-DD HH:MM`` and two spaces)
  and ``indexcolsize`` (:func:`apache_size`), relative hrefs, each row spread over several
  indented lines as in the fixture; ``one_line_rows=True`` writes each row on one line as
  stock Apache does (a parser must not rely on either). ``parent_row=True`` adds Apache's
  "Parent Directory" row (not in the fixture; it may have been trimmed).
  A folder without its trailing slash -> 301 to the slash form; a missing path -> 404.
- **The untiled tree** (docs/evidence/eog-notile.md §1, §4: the same host, login and
  listings as the tiled one): the root is served as it is, so a root holding
  ``nighttime_light/monthly_notile/v10`` (:mod:`.eog_notile`) serves it beside
  ``nighttime_light/monthly/v10``. Files come with ``Range``, ``Last-Modified``, Apache's
  ``ETag`` and ``If-Match`` (:mod:`.httpserver`); whether EOG's server does any of that
  is not known (§3), hence ``ranges=False`` (a ranged GET answered 200 with the whole
  file) and ``etags=False`` (no ETag).
- **What tests can see**: ``.grants`` (grant types served, in order), ``.issued``
  (:class:`Issued`: when, which grant, the access and refresh token of every token
  response) and ``.bearer_log`` (when, method, path and bearer token of every request
  under the data prefix). They stay in memory and are never printed or written.

The realm (token grants, issued tokens, login page) is :mod:`.keycloak`, the listing
pages :mod:`.apaxy`; this module serves them with the data.

``python -m sezlights_standin.eog --root DIR --port 8765`` serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import base64
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qs, quote

from .apaxy import apache_size, apaxy_listing
from .httpserver import StandinHandler, StandinServer, apache_error
from .keycloak import (
    APACHE_CLIENT,
    AUTH_PATH,
    COOKIE_NOT_FOUND,
    REALM,
    TOKEN_PATH,
    Realm,
    login_page,
)

__all__ = ["AUTH_PATH", "TOKEN_PATH", "EOGServer", "apache_size", "main"]

CALLBACK = "/oauth2callback"


class _EOGHandler(StandinHandler):
    server: EOGServer

    def route(self) -> None:
        srv, path = self.server, self.url_path
        if path == TOKEN_PATH:
            return self._token()
        if path.startswith(f"/realms/{REALM}/"):
            return self._keycloak_page()
        if path.startswith("/realms/"):
            return self.reply_json(404, {"error": "Realm does not exist"})
        if srv.relative(path) is None:
            return self.error(404)
        srv.note_bearer(self.command, path, self.headers.get("Authorization"))
        target = srv.resolve(path)
        if self.command in ("GET", "HEAD") and (target is None or not target.is_dir()):
            srv.note_auth(self.headers.get("Authorization"))
        if not srv.token_valid(self.headers.get("Authorization")):
            return self._unauthenticated()
        if self.command not in ("GET", "HEAD"):
            return self.error(405)
        listing = lambda p, folder: apaxy_listing(p, folder, srv.one_line_rows, srv.parent_row)  # noqa: E731
        self.serve_tree(target, path, listing, "text/html;charset=UTF-8")

    def _unauthenticated(self) -> None:
        if self.server.unauthorized == "401":
            return self.reply(401, apache_error(401), headers={"WWW-Authenticate": "Bearer"})
        self.redirect(self.server.login_location())

    def _token(self) -> None:
        if self.command != "POST":
            return self.reply_json(405, {"error": "HTTP 405 Method Not Allowed"})
        fault = self.take_fault()
        if fault is True:
            return
        form = {k: v[0] for k, v in parse_qs(self.body.decode("utf-8", "replace")).items()}
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = self.headers.get("Authorization", "")
        if basic[:6].lower() == "basic ":
            try:
                user, _, pw = base64.b64decode(basic[6:]).decode().partition(":")
                client_id, client_secret = user, pw
            except ValueError:
                pass
        status, payload = self.server.grant(form, client_id, client_secret)
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        self.reply_json(status, payload, headers, fault)

    def _keycloak_page(self) -> None:
        fault = self.take_fault()
        if fault is True:
            return
        if self.command == "POST" and "/login-actions/" in self.url_path:
            page = login_page(self.server.other_origin, {}, error=COOKIE_NOT_FOUND)
            return self.reply(400, page, "text/html;charset=utf-8", fault=fault)
        if self.command not in ("GET", "HEAD"):
            return self.reply_json(405, {"error": "HTTP 405 Method Not Allowed"})
        query = {k: v[0] for k, v in parse_qs(self.query).items()}
        page = login_page(self.server.other_origin, query)
        self.reply(200, page, "text/html;charset=utf-8", fault=fault)


class EOGServer(Realm, StandinServer):
    """EOG's data server and Keycloak realm ``eog`` on one local port (see the module doc).

    ``root`` is served under ``prefix`` (e.g. root = the ``v10`` tree, prefix =
    ``/nighttime_light/monthly/v10``). ``users`` (default ``{"alice": "pw"}``) and
    ``clients`` (default ``{"my-client": "my-secret"}``) map names to passwords and client
    ids to secrets. ``token_lifetime`` and ``refresh_lifetime`` are seconds (floats are
    fine: tests shorten the 5 minutes to 1 s); ``refresh_tokens=False`` issues no refresh
    tokens. ``.grants`` lists the grant types served successfully, in order, ``.issued``
    each token response, ``.bearer_log`` each data request's token. ``.token_url`` is the
    token endpoint; :meth:`token_faults` queues faults for it; ``.login_realm`` is the
    realm the login redirect names.
    """

    handler_class = _EOGHandler
    data_suffix = ".tgz"

    def __init__(
        self,
        root,
        port: int = 0,
        users: Mapping[str, str] | None = None,
        clients: Mapping[str, str] | None = None,
        token_lifetime: float = 300,
        refresh_lifetime: float = 1800,
        prefix: str = "",
        *,
        one_line_rows: bool = False,
        parent_row: bool = False,
        unauthorized: str = "login",
        refresh_tokens: bool = True,
        login_realm: str = REALM,
        ranges: bool = True,
        etags: bool = True,
    ):
        super().__init__(root, port, prefix)
        self.ranges, self.etags = ranges, etags
        if unauthorized not in ("login", "401"):
            raise ValueError("unauthorized must be 'login' or '401'")
        self.open_realm(users, clients, token_lifetime, refresh_lifetime, refresh_tokens)
        self.one_line_rows = one_line_rows
        self.parent_row = parent_row
        self.unauthorized = unauthorized
        self.login_realm = login_realm
        self.bearer_log: list[tuple[float, str, str, str | None]] = []

    # --------------------------------------------------------------- addresses

    @property
    def auth_origin(self) -> str:
        """The Keycloak host: this server as ``http://localhost:<port>``."""
        return self.other_origin

    @property
    def token_url(self) -> str:
        return self.auth_origin + TOKEN_PATH

    @property
    def auth_url(self) -> str:
        return self.auth_origin + AUTH_PATH

    def login_location(self) -> str:
        """A fresh mod_auth_openidc authorization URL (new ``state`` and ``nonce``)."""
        state = secrets.token_urlsafe(20)[:27]
        nonce = secrets.token_urlsafe(32)[:43]
        redirect_uri = quote(self.origin + CALLBACK, safe="")
        auth_url = f"{self.auth_origin}/realms/{self.login_realm}/protocol/openid-connect/auth"
        return (
            f"{auth_url}?response_type=code&scope=openid%20email&client_id={APACHE_CLIENT}"
            f"&state={state}&redirect_uri={redirect_uri}&nonce={nonce}"
        )

    def login_page(self) -> bytes:
        return login_page(self.auth_origin, {})

    # ------------------------------------------------------------------ tokens

    def token_faults(self, *faults: str) -> None:
        """Queue ``faults`` ("503", "500", "hang", "stall", "reset", ...) for the next
        token requests, one per request."""
        self.add_faults(TOKEN_PATH, *faults)

    def note_bearer(self, method: str, path: str, header: str | None) -> None:
        token = header[7:].strip() if header and header[:7].lower() == "bearer " else None
        with self._token_lock:
            self.bearer_log.append((time.time(), method, path, token))


# -------------------------------------------------------------------- command line


def _pairs(values, what):
    out = {}
    for v in values or []:
        name, sep, secret = v.partition(":")
        if not sep or not name:
            raise SystemExit(f"--{what}: expected NAME:SECRET, got a value without ':'")
        out[name] = secret
    return out or None


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="Serve a folder like EOG (Keycloak realm eog).")
    ap.add_argument("--root", required=True, help="the tree to serve (e.g. the v10 folder)")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument(
        "--prefix", default="", help="URL path of the tree, e.g. /nighttime_light/monthly/v10"
    )
    ap.add_argument("--user", action="append", metavar="NAME:PASSWORD", help="default alice:pw")
    ap.add_argument(
        "--client", action="append", metavar="ID:SECRET", help="default my-client:my-secret"
    )
    ap.add_argument("--token-lifetime", type=float, default=300)
    ap.add_argument("--refresh-lifetime", type=float, default=1800)
    ap.add_argument("--one-line-rows", action="store_true")
    ap.add_argument("--ready-file", help="write the base URL here once listening")
    a = ap.parse_args(argv)
    srv = EOGServer(
        a.root,
        a.port,
        users=_pairs(a.user, "user"),
        clients=_pairs(a.client, "client"),
        token_lifetime=a.token_lifetime,
        refresh_lifetime=a.refresh_lifetime,
        prefix=a.prefix,
        one_line_rows=a.one_line_rows,
    )
    if a.ready_file:
        Path(a.ready_file).write_text(srv.url + "\n")
    # names only: never print a password or a secret
    print(
        f"serving {a.root} at {srv.url}\ntoken endpoint {srv.token_url}\n"
        f"users: {', '.join(srv.users)}; clients: {', '.join(srv.clients)}",
        flush=True,
    )
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()


if __name__ == "__main__":
    main()
