"""The Keycloak realm ``eog`` of the EOG stand-in: the token endpoint's grants and
errors, the tokens it has issued, and the login page.

What it models and from which evidence is in :mod:`sezlights_standin.eog`'s module
doc ("Token endpoint", "Errors", "The login page") and docs/evidence/eog.md ("Login",
"Unauthenticated requests"). :mod:`.eog` serves it on the same port as the data.
"""

from __future__ import annotations

import base64
import html
import json
import secrets
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

REALM = "eog"
OIDC_PATH = f"/realms/{REALM}/protocol/openid-connect"
TOKEN_PATH = OIDC_PATH + "/token"
AUTH_PATH = OIDC_PATH + "/auth"
APACHE_CLIENT = "eogdata-new-apache"  # mod_auth_openidc's client in realm eog (evidence: Login)
RETIRED_CLIENT = "eogdata_oidc"  # the old public client: unknown in realm eog (evidence: Login)
DEFAULT_USERS = {"alice": "pw"}
DEFAULT_CLIENTS = {"my-client": "my-secret"}
BAD_CLIENT = "Invalid client or Invalid client credentials"
COOKIE_NOT_FOUND = "Cookie not found. Please make sure cookies are enabled in your browser."


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


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _number(x: float):
    return int(x) if float(x).is_integer() else float(x)


def _keycloak_error(error: str, description: str) -> dict:
    return {"error": error, "error_description": description}


@dataclass(frozen=True)
class Issued:
    """One token response of the stand-in (kept in memory for tests, never written)."""

    at: float  # time.time() when it was issued
    grant: str  # "password", "refresh_token"
    access_token: str
    refresh_token: str | None


class Realm:
    """Keycloak's realm ``eog`` as a token endpoint sees it: its users and clients, the
    grants it answers (in Keycloak's order of checks and with its error texts) and the
    tokens it has issued. A mixin of :class:`~sezlights_standin.eog.EOGServer`, which
    provides ``auth_origin`` (the tokens' issuer) and calls :meth:`open_realm`.

    ``.grants`` lists the grant types served, in order, ``.issued`` each token response
    (:class:`Issued`); both stay in memory and are never printed or written.
    """

    auth_origin: str

    def open_realm(
        self,
        users: Mapping[str, str] | None,
        clients: Mapping[str, str] | None,
        token_lifetime: float,
        refresh_lifetime: float,
        refresh_tokens: bool,
    ) -> None:
        self.users = {k.lower(): v for k, v in (DEFAULT_USERS if users is None else users).items()}
        self.clients = dict(DEFAULT_CLIENTS if clients is None else clients)
        self.token_lifetime = token_lifetime
        self.refresh_lifetime = refresh_lifetime
        self.refresh_tokens = refresh_tokens
        self.grants: list[str] = []
        self.issued: list[Issued] = []
        self._access: dict[str, float] = {}  # access token -> expiry (time.time())
        self._refresh: dict[str, tuple[float, str, str, str]] = {}  # -> expiry, client, user, sid
        self._subjects: dict[str, str] = {}
        self._apache_secret = secrets.token_urlsafe(24)  # nobody knows it
        self._kid = secrets.token_urlsafe(32)[:43]
        self._token_lock = threading.Lock()

    def issued_at(self, access_token: str | None) -> Issued | None:
        """The token response that issued ``access_token`` (None: not issued here)."""
        with self._token_lock:
            return next((i for i in self.issued if i.access_token == access_token), None)

    def issued_secrets(self) -> list[str]:
        """Every access and refresh token issued so far (to check none was written)."""
        with self._token_lock:
            out = [i.access_token for i in self.issued]
            out += [i.refresh_token for i in self.issued if i.refresh_token]
        return out

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
        issue_refresh = self.refresh_tokens
        with self._token_lock:
            self._access[access] = now + self.token_lifetime
            if issue_refresh:
                self._refresh[refresh] = (now + self.refresh_lifetime, client_id, user, sid)
            if grant_type:
                self.grants.append(grant_type)
                self.issued.append(
                    Issued(now, grant_type, access, refresh if issue_refresh else None)
                )
        body = {
            "access_token": access,
            "expires_in": _number(self.token_lifetime),
            "refresh_expires_in": _number(self.refresh_lifetime),
            "refresh_token": refresh,
            "token_type": "Bearer",
            "not-before-policy": 0,
            "session_state": sid,
            "scope": "email profile",
        }
        if not issue_refresh:
            del body["refresh_expires_in"], body["refresh_token"]
        return body

    def _jwt(self, payload: dict) -> str:
        header = {"alg": "RS256", "typ": "JWT", "kid": self._kid}
        parts = (
            json.dumps(header).encode(),
            json.dumps(payload).encode(),
            secrets.token_bytes(256),
        )
        return ".".join(_b64url(p) for p in parts)


def login_page(auth_origin: str, query: Mapping[str, str], error: str | None = None) -> bytes:
    """Keycloak's login page for realm ``eog``, in the structure of the public copy.

    pyalanysis/pyalanysis ``tests/viirsdnb_utils.py`` ``mines_login_form`` (old master
    realm), moved to the new realm's URLs: no ``/auth`` prefix, client
    ``eogdata-new-apache``, the ``client_data`` parameter (base64url of
    ``{"ru","rt","st"}``, as in the registration link of a public README), and a newer
    title ("Sign in to ...", a guess: the new realm's page is not public). ``error``
    adds the feedback line StonerYan's downloader looks for (``kc-feedback-text`` /
    ``pf-c-alert__title``). Sources: docs/evidence/eog.md, "Unauthenticated requests".
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
