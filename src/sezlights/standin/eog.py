"""A local stand-in of EOG (``eogdata.mines.edu``) and its Keycloak realm ``eog``.

Modelled on the evidence in research/eog.md (section numbers below are that file's):

- **Token endpoint** ``POST /realms/eog/protocol/openid-connect/token`` (§1b: realm
  ``eog``, no ``/auth`` prefix), form-encoded: ``grant_type=password`` with
  ``client_id``, ``client_secret``, ``username``, ``password``; ``grant_type=refresh_token``
  with ``client_id``, ``client_secret``, ``refresh_token`` (§1a, Rnightlights). Client
  credentials may also come as HTTP Basic auth (standard Keycloak). The answer has
  Keycloak's shape (§1c, INFERENCE there): a JWT-shaped ``access_token`` (random per
  grant), ``expires_in`` = ``token_lifetime`` (300 s: "the JWT lasts 5 minutes", four
  sources in §6), ``refresh_expires_in`` (1800, the Keycloak default, unverified for EOG),
  ``refresh_token``, ``token_type``, ``not-before-policy``, ``session_state``, ``scope``.
- **Errors** as Keycloak writes them (§1d, from keycloak/keycloak's
  ``ClientIdAndSecretAuthenticator.java``): no client_id -> 400 ``invalid_client``
  "Missing client_id parameter"; unknown client -> 401 ``invalid_client`` "Invalid client
  or Invalid client credentials" -- and the old public client ``eogdata_oidc`` is unknown
  here (§1b: "puede estar dado de baja", per-account credentials, paid tier); known
  client, wrong or missing secret -> 401 ``unauthorized_client``, same text; wrong user or
  password -> 401 ``invalid_grant`` "Invalid user credentials"; expired or unknown refresh
  token -> 400 ``invalid_grant`` "Token is not active". The realm also knows the Apache
  client ``eogdata-new-apache`` (§2, the client of the browser login), which is
  confidential and has no direct grants: its secret is unknown to everyone, so a password
  grant with it gets 401 ``unauthorized_client`` (StonerYan's downloader tries exactly
  that first, §1b).
- **Everything under the data prefix** (files *and* listings, §2: ``/nighttime_light/``
  itself redirects) needs ``Authorization: Bearer <token>`` with a token this server
  issued that has not expired (checked when a request starts, §6); otherwise
  mod_auth_openidc's answer: a 302 to
  ``.../realms/eog/protocol/openid-connect/auth?response_type=code&scope=openid%20email&
  client_id=eogdata-new-apache&state=...&redirect_uri=<percent-encoded /oauth2callback>&
  nonce=...`` (§2, the browser-copied URL), with Apache's small "302 Found" page (the
  probe's 484 bytes). The login check runs before anything else (Apache's auth phase
  comes before mod_dir's 301 and before a 404), so nothing leaks without a token.
  ``unauthorized="401"`` answers 401 instead (§2: old non-browser clients got 401).
- **The login page**, ``GET .../openid-connect/auth`` -> 200 HTML: the Keycloak login
  form of the fixture ``eog_fixtures/pyalanysis_old_keycloak_login_master_realm.html``
  (``form#kc-form-login``, username/password inputs, forgot-password, register and
  locale links) with the new realm's URLs (no ``/auth``, client ``eogdata-new-apache``,
  ``client_data``, §2). The browser flow after it (cookies, code exchange) is not
  modelled: posting the form answers Keycloak's "Cookie not found" page (status 400), as
  a client without Keycloak's cookies gets.
- **The Keycloak host is another host name**: the realm lives on ``eogauth-new``, the
  data on ``eogdata`` (§1b, §2), so :attr:`EOGServer.token_url` and the login redirect
  use ``http://localhost:<port>`` while the data is served as ``http://127.0.0.1:<port>``
  (one socket, two origins): a client that follows the redirect with its token shows in
  nothing but its own behaviour, and the token endpoint is a different origin.
- **Listings**: Apache autoindex with the Apaxy theme, in exactly the structure of the
  fixture ``eog_fixtures/pyalanysis_listing_monthly_v10_190009_vcmslcfg.html`` (§3):
  ``table#indexlist``, a ``tr.indexhead`` row of ``th`` sort links, data rows
  ``tr.even``/``tr.odd`` (the first one "even") with the cells ``indexcolicon`` (link +
  img), ``indexcolname`` (link), ``indexcollastmod`` (``YYYY-MM-DD HH:MM`` and two spaces)
  and ``indexcolsize`` (:func:`apache_size`), relative hrefs, each row spread over several
  indented lines as in the fixture; ``one_line_rows=True`` writes each row on one line as
  stock Apache does (a parser must not rely on either). ``parent_row=True`` adds Apache's
  "Parent Directory" row (not in the fixture; it may have been trimmed, §3).
  A folder without its trailing slash -> 301 to the slash form; a missing path -> 404.

``python -m sezlights.standin.eog --root DIR --port 8765`` serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import secrets
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qs, quote

from .httpserver import StandinHandler, StandinServer, apache_error

REALM = "eog"
OIDC_PATH = f"/realms/{REALM}/protocol/openid-connect"
TOKEN_PATH = OIDC_PATH + "/token"
AUTH_PATH = OIDC_PATH + "/auth"
APACHE_CLIENT = "eogdata-new-apache"  # mod_auth_openidc's client in realm eog (eog.md §2)
RETIRED_CLIENT = "eogdata_oidc"  # the old public client: unknown in realm eog (eog.md §1b)
CALLBACK = "/oauth2callback"
THEME = "/wwwdata/viirs_products/dnb_composites/theme"  # Apaxy assets (eog.md §3)
DEFAULT_USERS = {"alice": "pw"}
DEFAULT_CLIENTS = {"my-client": "my-secret"}
BAD_CLIENT = "Invalid client or Invalid client credentials"
LOCALES = (  # the fixture's locale menu, in its order
    ("de", "Deutsch"),
    ("no", "Norsk"),
    ("ru", "Русский"),
    ("sv", "Svenska"),
    ("pt-BR", "Português (Brasil)"),
    ("lt", "Lietuvių"),
    ("en", "English"),
    ("it", "Italiano"),
    ("fr", "Français"),
    ("zh-CN", "中文简体"),
    ("es", "Español"),
    ("cs", "Čeština"),
    ("ja", "日本語"),
    ("sk", "Slovenčina"),
    ("pl", "Polish"),
    ("ca", "Català"),
    ("nl", "Nederlands"),
    ("tr", "tr"),
)


def apache_size(size: int) -> str:
    """A size as Apache's autoindex prints it: APR's ``apr_strfsize``, padding included.

    ``" 45K"``, ``"532M"``, ``"1.1G"``, ``"512 "`` (bytes), ``"  - "`` for a folder
    (size < 0). Only ``532M``-style values appear in the EOG fixture (eog.md §3); the
    rest is stock Apache, so a parser must strip the cell.
    """
    if size < 0:
        return "  - "
    if size < 973:
        return f"{size:3d} "
    units = "KMGTPE"
    o = 0
    while True:
        remain = size & 1023
        size >>= 10
        if size >= 973:
            o += 1
            continue
        if size < 9 or (size == 9 and remain < 973):
            remain = (remain * 5 + 256) // 512
            if remain >= 10:
                size, remain = size + 1, 0
            return f"{size}.{remain}{units[o]}"
        if remain >= 512:
            size += 1
        return f"{size:3d}{units[o]}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _number(x: float):
    return int(x) if float(x).is_integer() else float(x)


def _keycloak_error(error: str, description: str) -> dict:
    return {"error": error, "error_description": description}


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


COOKIE_NOT_FOUND = "Cookie not found. Please make sure cookies are enabled in your browser."


class EOGServer(StandinServer):
    """EOG's data server and Keycloak realm ``eog`` on one local port (see the module doc).

    ``root`` is served under ``prefix`` (e.g. root = the ``v10`` tree, prefix =
    ``/nighttime_light/monthly/v10``). ``users`` (default ``{"alice": "pw"}``) and
    ``clients`` (default ``{"my-client": "my-secret"}``) map names to passwords and client
    ids to secrets. ``token_lifetime`` and ``refresh_lifetime`` are seconds (floats are
    fine: tests shorten the 5 minutes to 1 s). ``.grants`` lists the grant types served
    successfully, in order. ``.token_url`` is the token endpoint.
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
    ):
        super().__init__(root, port, prefix)
        if unauthorized not in ("login", "401"):
            raise ValueError("unauthorized must be 'login' or '401'")
        self.users = {k.lower(): v for k, v in (DEFAULT_USERS if users is None else users).items()}
        self.clients = dict(DEFAULT_CLIENTS if clients is None else clients)
        self.token_lifetime = token_lifetime
        self.refresh_lifetime = refresh_lifetime
        self.one_line_rows = one_line_rows
        self.parent_row = parent_row
        self.unauthorized = unauthorized
        self.grants: list[str] = []
        self._access: dict[str, float] = {}  # access token -> expiry (time.time())
        self._refresh: dict[str, tuple[float, str, str, str]] = {}  # -> expiry, client, user, sid
        self._subjects: dict[str, str] = {}
        self._apache_secret = secrets.token_urlsafe(24)  # nobody knows it
        self._kid = secrets.token_urlsafe(32)[:43]
        self._token_lock = threading.Lock()

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
        return (
            f"{self.auth_url}?response_type=code&scope=openid%20email&client_id={APACHE_CLIENT}"
            f"&state={state}&redirect_uri={redirect_uri}&nonce={nonce}"
        )

    def login_page(self) -> bytes:
        return login_page(self.auth_origin, {})

    # ------------------------------------------------------------------ tokens

    def token_valid(self, header: str | None) -> bool:
        """Whether ``Authorization`` carries an access token issued here, not expired."""
        if not header or header[:7].lower() != "bearer ":
            return False
        with self._token_lock:
            expiry = self._access.get(header[7:].strip())
        return expiry is not None and time.time() < expiry

    def grant(self, form: dict, client_id: str | None, client_secret: str | None):
        """(status, JSON payload) of a token request, in Keycloak's order of checks."""
        if not client_id:
            return 400, _keycloak_error("invalid_client", "Missing client_id parameter")
        if client_id == APACHE_CLIENT:
            known = self._apache_secret
        elif client_id in self.clients:
            known = self.clients[client_id]
        else:
            return 401, _keycloak_error("invalid_client", BAD_CLIENT)
        if not client_secret or not secrets.compare_digest(client_secret, known):
            return 401, _keycloak_error("unauthorized_client", BAD_CLIENT)
        grant_type = form.get("grant_type")
        if not grant_type:
            return 400, _keycloak_error("invalid_request", "Missing form parameter: grant_type")
        if grant_type == "password":
            if client_id == APACHE_CLIENT:
                return 400, _keycloak_error(
                    "unauthorized_client", "Client not allowed for direct access grants"
                )
            user = (form.get("username") or "").lower()
            password = form.get("password") or ""
            if user not in self.users or not secrets.compare_digest(password, self.users[user]):
                return 401, _keycloak_error("invalid_grant", "Invalid user credentials")
            return 200, self._issue("password", client_id, user, str(uuid.uuid4()))
        if grant_type == "refresh_token":
            token = form.get("refresh_token")
            if not token:
                return 400, _keycloak_error("invalid_request", "Missing parameter: refresh_token")
            with self._token_lock:
                entry = self._refresh.get(token)
            if entry is None or time.time() >= entry[0]:
                return 400, _keycloak_error("invalid_grant", "Token is not active")
            _, owner, user, sid = entry
            if owner != client_id:
                return 400, _keycloak_error(
                    "invalid_grant",
                    "Invalid refresh token. Token client and authorized client don't match",
                )
            return 200, self._issue("refresh_token", client_id, user, sid)
        if grant_type == "client_credentials":
            return 400, _keycloak_error(
                "unauthorized_client", "Client not enabled to retrieve service account"
            )
        return 400, _keycloak_error("unsupported_grant_type", "Unsupported grant_type")

    def issue_token(self, username: str = "alice", client_id: str = "my-client") -> str:
        """A valid access token minted without HTTP, as a user would paste one obtained
        elsewhere (e.g. ``EOG_TOKEN``). Not counted in :attr:`grants`."""
        body = self._issue(None, client_id, username.lower(), str(uuid.uuid4()))
        return body["access_token"]

    def _issue(self, grant_type: str | None, client_id: str, user: str, sid: str) -> dict:
        now = time.time()
        subject = self._subjects.setdefault(user, str(uuid.uuid4()))
        common = {
            "iat": int(now),
            "jti": str(uuid.uuid4()),
            "iss": f"{self.auth_origin}/realms/{REALM}",
            "sub": subject,
            "azp": client_id,
            "session_state": sid,
            "sid": sid,
            "scope": "email profile",
        }
        access = self._jwt(
            {
                "exp": int(now + self.token_lifetime),
                **common,
                "aud": "account",
                "typ": "Bearer",
                "acr": "1",
                "email_verified": True,
                "preferred_username": user,
            }
        )
        refresh = self._jwt(
            {
                "exp": int(now + self.refresh_lifetime),
                **common,
                "aud": f"{self.auth_origin}/realms/{REALM}",
                "typ": "Refresh",
            }
        )
        with self._token_lock:
            self._access[access] = now + self.token_lifetime
            self._refresh[refresh] = (now + self.refresh_lifetime, client_id, user, sid)
            if grant_type:
                self.grants.append(grant_type)
        return {
            "access_token": access,
            "expires_in": _number(self.token_lifetime),
            "refresh_expires_in": _number(self.refresh_lifetime),
            "refresh_token": refresh,
            "token_type": "Bearer",
            "not-before-policy": 0,
            "session_state": sid,
            "scope": "email profile",
        }

    def _jwt(self, payload: dict) -> str:
        header = {"alg": "RS256", "typ": "JWT", "kid": self._kid}
        parts = (
            json.dumps(header).encode(),
            json.dumps(payload).encode(),
            secrets.token_bytes(256),
        )
        return ".".join(_b64url(p) for p in parts)


# ------------------------------------------------------------------ pages


def login_page(auth_origin: str, query: Mapping[str, str], error: str | None = None) -> bytes:
    """Keycloak's login page for realm ``eog``, in the structure of the fixture.

    eog_fixtures/pyalanysis_old_keycloak_login_master_realm.html (old master realm),
    moved to the new realm's URLs: no ``/auth`` prefix, client ``eogdata-new-apache``,
    the ``client_data`` parameter (base64url of ``{"ru","rt","st"}``, eog.md §2), and a
    newer title ("Sign in to ..."). ``error`` adds the feedback line StonerYan's
    downloader looks for (``kc-feedback-text`` / ``pf-c-alert__title``, eog.md §2).
    """
    client = query.get("client_id", APACHE_CLIENT)
    client_data = _b64url(
        json.dumps(
            {"ru": query.get("redirect_uri", ""), "rt": "code", "st": query.get("state", "")},
            separators=(",", ":"),
        ).encode()
    )
    tab = secrets.token_urlsafe(8)[:11]
    execution = str(uuid.uuid4())
    session_code = secrets.token_urlsafe(32)[:43]
    actions = f"/realms/{REALM}/login-actions"
    common = f"client_id={quote(client)}&amp;tab_id={tab}&amp;client_data={client_data}"
    locales = "\n".join(
        f'              <li class="kc-dropdown-item"><a href="{actions}/'
        f'authenticate?{common}&amp;execution={execution}&amp;kc_locale={code}">{label}</a></li>'
        for code, label in LOCALES
    )
    feedback = (
        '\n            <div class="alert-error pf-c-alert pf-m-inline pf-m-danger">\n'
        '                <span class="pf-c-alert__title kc-feedback-text">'
        f"{html.escape(error)}</span>\n            </div>\n"
        if error
        else ""
    )
    page = f"""<!DOCTYPE html>
<html class="login-pf">
<head>
  <meta charset="utf-8">
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
  <meta name="robots" content="noindex, nofollow">
  <meta name="viewport" content="width=device-width,initial-scale=1"/>
  <title>Sign in to Earth Observation Group</title>
  <link rel="icon" href="/resources/k8x2q/login/eog/img/favicon.ico" />
  <link href="/resources/k8x2q/common/keycloak/vendor/patternfly-v4/patternfly.min.css"
        rel="stylesheet" />
  <link href="/resources/k8x2q/login/eog/css/login.css" rel="stylesheet" />
</head>
<body class="">
<div class="login-pf-page">
  <div id="kc-header" class="login-pf-page-header">
    <div id="kc-header-wrapper" class=""><div class="kc-logo-text"><span>EOG</span></div></div>
  </div>
  <div class="card-pf">
    <header class="login-pf-header">
      <div id="kc-locale">
        <div id="kc-locale-wrapper" class="">
          <div class="kc-dropdown" id="kc-locale-dropdown">
            <a href="#" id="kc-current-locale-link">English</a>
            <ul>
{locales}
            </ul>
          </div>
        </div>
      </div>
      <h1 id="kc-page-title">        Sign in to your account

</h1>
    </header>
    <div id="kc-content">
      <div id="kc-content-wrapper">
{feedback}
  <div id="kc-form">
    <div id="kc-form-wrapper">
      <form id="kc-form-login" onsubmit="login.disabled = true; return true;"
            action="{auth_origin}{actions}/authenticate?session_code={session_code}&amp;\
execution={execution}&amp;{common}" method="post">
        <div class="form-group">
          <label for="username" class="control-label">Username or email</label>
          <input tabindex="1" id="username" class="form-control" name="username" value=""
                 type="text" autofocus autocomplete="off" />
        </div>
        <div class="form-group">
          <label for="password" class="control-label">Password</label>
          <input tabindex="2" id="password" class="form-control" name="password"
                 type="password" autocomplete="off" />
        </div>
        <div class="form-group login-pf-settings">
          <div id="kc-form-options">
            <div class="checkbox">
              <label>
                <input tabindex="3" id="rememberMe" name="rememberMe" type="checkbox"> Remember me
              </label>
            </div>
          </div>
          <div class="">
            <span><a tabindex="5" href="{actions}/reset-credentials?{common}"
              >Forgot Password?</a></span>
          </div>
        </div>
        <div id="kc-form-buttons" class="form-group">
          <input type="hidden" id="id-hidden-input" name="credentialId" />
          <input tabindex="4" class="btn btn-primary btn-block btn-lg" name="login" id="kc-login"
                 type="submit" value="Sign In"/>
        </div>
      </form>
    </div>
  </div>
        <div id="kc-info" class="login-pf-signup">
          <div id="kc-info-wrapper" class="">
            <div id="kc-registration">
              <span>New user? <a tabindex="6" href="{actions}/registration?{common}"
                >Register</a></span>
            </div>
          </div>
        </div>
      </div>
    </div>
  </div>
</div>
</body>
</html>
"""
    return page.encode()


_HEAD = """<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
    <title>Index of {title}</title>
    <link rel="stylesheet" href="{theme}/style.css" type="text/css"/>
    <link rel="shortcut icon" href="{theme}/favicon.ico"/>
    <meta name="viewport" content="width=device-width, initial-scale=1"/>
</head>
<body>
    <div class="wrapper">
        <!-- we open the `wrapper` element here, but close it in the `footer.html` file -->

        <ol class="breadcrumb" id="breadcrumb"></ol>

        <input type="search" id="filter" placeholder="filter contents"/>


        EOG Nighttime Light
        <!--{{HEADER-MESSAGE}}-->
        <table id="indexlist">
            <tr class="indexhead">
                <th class="indexcolicon">
                    <img src="{theme}/icons/blank.png" alt="[ICO]"/>
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
"""

_FOOT = """        </table>
        <div class="block">
            <!--{{FOOTER-MESSAGE}}-->

        </div>
        <!--/.postlisting-->

    </div>
    <!--/.wrapper-->

    <div class="footer">
      Apaxy by @adamwhitcroft
    </div>
    <!--/.footer-->
    <script src={base}/theme/apaxy.js></script>
</body>
</html>
"""

_ROW = """            <tr class="{parity}">
                <td class="indexcolicon">
                    <a href="{href}">
                        <img src="{icon}" alt="{alt}"/>
                    </a>
                </td>
                <td class="indexcolname">
                    <a href="{href}">{text}</a>
                </td>
                <td class="indexcollastmod">{lastmod}</td>
                <td class="indexcolsize">{size}</td>
            </tr>
"""


def _icon(name: str, is_dir: bool) -> tuple[str, str]:
    if is_dir:
        return "/icons/folder.gif", "[DIR]"
    if name.endswith((".tgz", ".gz", ".tar", ".zip")):
        return "/icons/compressed.gif", "[   ]"  # as in the fixture
    if name.endswith((".tif", ".tiff", ".png")):
        return "/icons/image2.gif", "[IMG]"
    if name.endswith((".txt", ".csv")):
        return "/icons/text.gif", "[TXT]"
    return "/icons/unknown.gif", "[   ]"


def apaxy_listing(
    url_path: str, folder: Path, one_line_rows: bool = False, parent_row: bool = False
) -> bytes:
    """The Apaxy-themed autoindex page of ``folder`` (see the module doc, eog.md §3).

    Rows sorted by name (Apache's default), hidden files left out; the title is the
    path without its trailing slash, as in the fixture.
    """
    title = url_path.rstrip("/") or "/"
    rows = []
    if parent_row:
        parent = url_path.rstrip("/").rsplit("/", 1)[0] + "/"
        rows.append(
            dict(
                href=quote(parent),
                icon="/icons/back.gif",
                alt="[PARENTDIR]",
                text="Parent Directory",
                lastmod="&nbsp;",
                size=apache_size(-1),
            )
        )
    for p in sorted(folder.iterdir(), key=lambda p: p.name):
        if p.name.startswith("."):
            continue
        st = p.stat()
        is_dir = p.is_dir()
        name = p.name + ("/" if is_dir else "")
        icon, alt = _icon(p.name, is_dir)
        rows.append(
            dict(
                href=html.escape(quote(name)),
                icon=icon,
                alt=alt,
                text=html.escape(name),
                lastmod=time.strftime("%Y-%m-%d %H:%M  ", time.gmtime(st.st_mtime)),
                size=apache_size(-1 if is_dir else st.st_size),
            )
        )
    out = [_HEAD.format(title=html.escape(title), theme=THEME)]
    for i, row in enumerate(rows):
        text = _ROW.format(parity="odd" if i % 2 else "even", **row)
        if one_line_rows:
            text = "            " + "".join(line.strip() for line in text.splitlines()) + "\n"
        out.append(text)
    out.append(_FOOT.format(base=THEME.removesuffix("theme")))
    return "".join(out).encode()


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
