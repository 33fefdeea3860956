"""Bearer-token sessions: one place that hands out a valid token.

- :class:`PasswordGrantSession`: OAuth2 password grant with the account's own
  client id and secret (authlib's ``OAuth2Session``). Before each request authlib
  refreshes a token that expires within ``leeway`` seconds (refresh-token grant);
  a refused refresh falls back to a new password grant. :meth:`renew` does the same
  on demand, when a server answers 401/403 or sends the login page anyway.
- :class:`StaticTokenSession`: a token the user got elsewhere (``EOG_TOKEN``,
  ``EARTHDATA_TOKEN``); it cannot be renewed, so a refused token stops with a
  message saying what to set instead.

Both are ``requests.Session`` objects; the token travels in the ``Authorization``
header only, and no secret is ever logged or written.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from .errors import LoginError
from .http import USER_AGENT, make_session

log = logging.getLogger(__name__)


def token_expiry(token: str) -> float | None:
    """The ``exp`` claim (unix time) of a JWT, read without checking it; None if not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        exp = json.loads(base64.urlsafe_b64decode(payload)).get("exp")
        return float(exp) if exp is not None else None
    except (ValueError, TypeError, json.JSONDecodeError):
        return None


class StaticTokenSession(requests.Session):
    """Sends one fixed bearer token; :meth:`renew` cannot help, so it explains."""

    def __init__(self, token: str, refused_message: str, expired_message: str | None = None):
        super().__init__()
        self.headers["Authorization"] = f"Bearer {token}"
        self.headers["User-Agent"] = USER_AGENT
        self._refused = refused_message
        exp = token_expiry(token)
        if exp is not None and exp < time.time() and expired_message:
            stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(exp))
            raise LoginError(expired_message.format(when=stamp))

    def renew(self) -> None:
        raise LoginError(self._refused)


class PasswordGrantSession(OAuth2Session):
    """A session that always holds a valid access token from the password grant.

    ``explain(error, description)`` turns the token endpoint's OAuth error into
    the one-line message the user sees (it knows the service's words).
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        username: str,
        password: str,
        explain: Callable[[str, str], str],
        timeout: float = 30,
    ):
        super().__init__(
            client_id=client_id,
            client_secret=client_secret,
            token_endpoint=token_url,
            token_endpoint_auth_method="client_secret_post",
            leeway=60,
        )
        self._token_url = token_url
        self._username, self._password = username, password
        self._explain = explain
        self._timeout = timeout
        self._lock = threading.RLock()
        self.logins = 0
        self.refreshes = 0
        self.headers["User-Agent"] = USER_AGENT
        make_session(self, retries=3)
        self.login()

    def login(self) -> None:
        """A new password grant."""
        with self._lock:
            try:
                token = self.fetch_token(
                    self._token_url,
                    grant_type="password",
                    username=self._username,
                    password=self._password,
                    timeout=self._timeout,
                )
            except OAuthError as exc:
                raise LoginError(self._explain(exc.error or "", exc.description or "")) from None
            except requests.RequestException as exc:
                raise LoginError(
                    self._explain("unreachable", f"{type(exc).__name__} at {self._token_url}")
                ) from None
            except (ValueError, KeyError) as exc:  # not a token response at all
                raise LoginError(self._explain("bad_response", str(exc)[:200])) from None
            self.logins += 1
            self._set_leeway(token)
            log.info("logged in (token valid %s s)", token.get("expires_in", "?"))

    def _set_leeway(self, token) -> None:
        # refresh a fifth of the lifetime ahead of expiry, at most a minute ahead
        lifetime = float(token.get("expires_in") or 300)
        self.leeway = min(60.0, lifetime / 5)

    def renew(self) -> None:
        """A fresh token now: refresh grant, else a new password grant."""
        with self._lock:
            refresh = (self.token or {}).get("refresh_token")
            if refresh:
                try:
                    token = self.refresh_token(self._token_url, refresh_token=refresh)
                    self.refreshes += 1
                    self._set_leeway(token)
                    return
                except (OAuthError, requests.RequestException, ValueError, KeyError):
                    pass
            self.login()

    def ensure_active_token(self, token=None):
        with self._lock:
            try:
                before = (self.token or {}).get("access_token")
                ok = super().ensure_active_token(token)
                if (self.token or {}).get("access_token") != before:
                    self.refreshes += 1
                    self._set_leeway(self.token)
                return ok
            except (OAuthError, requests.RequestException, ValueError, KeyError):
                # the refresh token has expired too (or the refresh failed): log in again
                self.login()
                return True
