"""Bearer-token sessions: one place that hands out a valid token.

- :class:`PasswordGrantSession`: OAuth2 password grant with the account's own
  client id and secret (authlib's ``OAuth2Session``). Before each request a token
  that expires within ``leeway`` seconds is renewed: refresh-token grant, or a new
  password grant when the token response had no refresh token or the refresh is
  refused. :meth:`renew` does the same on demand, when a server answers 401/403 or
  sends the login page anyway.
- :class:`StaticTokenSession`: a token the user got elsewhere (``EOG_TOKEN``,
  ``EARTHDATA_TOKEN``); it cannot be renewed, so a refused token stops with a
  message saying what to set instead.

Every token request has a timeout (a stalled token endpoint never hangs a job, nor
the threads waiting for the session's lock) and is tried again, within a small
budget, when the endpoint answers 429/5xx or the connection fails; when that
persists the one-line message says what the endpoint answered. A token request is
never retried by urllib3 (its adapter has no retries): this module owns them.

Both are ``requests.Session`` objects; the token travels in the ``Authorization``
header only, and no secret is ever logged or written.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
from collections.abc import Callable

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from requests.adapters import HTTPAdapter

from .errors import LoginError
from .http import RETRY_STATUS, USER_AGENT, Budget, describe_error, describe_status, make_session

log = logging.getLogger(__name__)

# Token requests that meet a transient failure (429/5xx, connection refused or reset,
# read timeout) are tried again: at most TOKEN_TRIES tries within TOKEN_SECONDS,
# waiting TOKEN_BACKOFF seconds before the second, doubling after each.
TOKEN_TRIES = 4
TOKEN_SECONDS = 60.0
TOKEN_BACKOFF = 0.5
# failures no retry can mend: a wrong host name, a certificate the client refuses
_NOT_TRANSIENT = ("host name not found", "TLS certificate error")


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

    def bearer(self) -> str:
        return self.headers["Authorization"]


def _not_a_token(exc: Exception) -> str:
    """What a non-token answer was, from authlib's "... not a JSON object (HTTP 200)."."""
    m = re.search(r"\(HTTP (\d{3})\)", str(exc))
    if m:
        return f"{describe_status(int(m[1]))} with a page that is no JSON"
    return f"a response without {exc}" if isinstance(exc, KeyError) else str(exc)[:200]


class _EndpointFailed(Exception):
    """The token endpoint gave no token response: ``kind`` is ``unreachable`` (only
    connection failures), ``server_error`` (it answered 429/5xx, perhaps among
    connection failures) or ``bad_response`` (another status or a page that is not a
    token response: no retry helps); ``description`` says what happened."""

    def __init__(self, kind: str, description: str):
        super().__init__(description)
        self.kind, self.description = kind, description


class PasswordGrantSession(OAuth2Session):
    """A session that always holds a valid access token from the password grant.

    ``explain(error, description)`` turns a failed token request into the one-line
    message the user sees (it knows the service's words): ``error`` is the OAuth
    error code of the answer (``invalid_grant``, ...), or ``unreachable``,
    ``server_error``, ``bad_response`` or ``token_error`` (see :class:`_EndpointFailed`).
    ``timeout`` (seconds, or requests' (connect, read) pair) applies to every token
    request, the refreshes authlib would make included.
    """

    retry_tries = TOKEN_TRIES
    retry_seconds = TOKEN_SECONDS
    retry_backoff = TOKEN_BACKOFF

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        username: str,
        password: str,
        explain: Callable[[str, str], str],
        timeout: float | tuple[float, float] = (10, 30),
    ):
        super().__init__(
            client_id=client_id,
            client_secret=client_secret,
            token_endpoint=token_url,
            token_endpoint_auth_method="client_secret_post",
            leeway=60,
            default_timeout=timeout,  # any request authlib makes on its own has one too
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
        # the longest mounted prefix wins: token requests never take urllib3's retries
        # (which would not see the budget below), whatever is mounted for http(s)://
        self.mount(token_url, HTTPAdapter(max_retries=0))
        self.login()

    # ---------------------------------------------------------------- grants

    def login(self) -> None:
        """A new password grant."""
        with self._lock:
            try:
                token = self._token_request(
                    "password grant",
                    lambda: self.fetch_token(
                        self._token_url,
                        grant_type="password",
                        username=self._username,
                        password=self._password,
                        timeout=self._timeout,
                    ),
                )
            except OAuthError as exc:
                raise LoginError(self._explain(exc.error or "", exc.description or "")) from None
            except _EndpointFailed as exc:
                raise LoginError(self._explain(exc.kind, exc.description)) from None
            except (ValueError, KeyError) as exc:  # not a token response at all
                raise LoginError(self._explain("bad_response", _not_a_token(exc))) from None
            self.logins += 1
            self._set_leeway(token)
            log.info("logged in (token valid %s s)", token.get("expires_in", "?"))

    def _refresh(self) -> bool:
        """A refresh grant; False when there is no refresh token (the token response
        had none) or the endpoint refused it (expired too), so a login must follow."""
        refresh = (self.token or {}).get("refresh_token")
        if not refresh:
            return False
        try:
            token = self._token_request(
                "refresh grant",
                lambda: self.refresh_token(
                    self._token_url, refresh_token=refresh, timeout=self._timeout
                ),
            )
        except (OAuthError, ValueError, KeyError):
            return False
        except _EndpointFailed as exc:
            if exc.kind == "bad_response":
                return False  # the password grant will say what is wrong
            raise LoginError(self._explain(exc.kind, exc.description)) from None
        self.refreshes += 1
        self._set_leeway(token)
        log.info("token refreshed (valid %s s)", token.get("expires_in", "?"))
        return True

    def _token_request(self, what: str, call: Callable[[], dict]) -> dict:
        """``call()``, tried again on transient failures within the token budget.

        An OAuth error answer (``invalid_grant``, ...) is raised at once; so is an
        answer that is neither a token nor a 429/5xx (:class:`_EndpointFailed`
        ``bad_response``). When the budget is spent, :class:`_EndpointFailed` says
        what every try met.
        """
        budget = Budget(self.retry_seconds, self.retry_tries, self.retry_backoff)
        while True:
            budget.take_try()
            try:
                return call()
            except requests.HTTPError as exc:  # authlib: a 5xx, or a 4xx that is no JSON
                status = exc.response.status_code if exc.response is not None else 0
                if status not in RETRY_STATUS:
                    raise _EndpointFailed("bad_response", describe_status(status)) from None
                budget.note(describe_status(status))
            except requests.RequestException as exc:  # refused, reset, timed out
                failure = describe_error(exc)
                if failure in _NOT_TRANSIENT:
                    raise _EndpointFailed("unreachable", failure) from None
                budget.note(failure)
            wait = budget.next_wait()
            if wait is None:
                kind = (
                    "server_error"
                    if any(w.startswith("HTTP ") for w in budget.failures)
                    else "unreachable"
                )
                tries = budget.n_failures
                raise _EndpointFailed(
                    kind,
                    f"{budget.summary()}; {tries} {'try' if tries == 1 else 'tries'} in "
                    f"{budget.elapsed():.0f} s",
                )
            log.warning(
                "%s: try %d at the token endpoint failed (%s); trying again in %.1f s",
                what,
                budget.n_failures,
                budget.last,
                wait,
            )
            time.sleep(wait)

    def _set_leeway(self, token) -> None:
        # refresh a fifth of the lifetime ahead of expiry, at most a minute ahead
        lifetime = float(token.get("expires_in") or 300)
        self.leeway = min(60.0, lifetime / 5)

    # ---------------------------------------------------------------- tokens

    def renew(self) -> None:
        """A fresh token now: refresh grant, else a new password grant."""
        with self._lock:
            if not self._refresh():
                self.login()

    def bearer(self) -> str:
        """``Bearer <a token valid for a while yet>`` (for :func:`sezlights.http.child_session`)."""
        with self._lock:
            self.ensure_active_token()
            return f"Bearer {self.token['access_token']}"

    def ensure_active_token(self, token=None):
        """Called by authlib before each request: renew a token about to expire.

        Replaces authlib's own, which returns nothing for an expired token without a
        refresh token (its caller then raises ``InvalidTokenError``) and makes the
        refresh without this module's retries.
        """
        with self._lock:
            current = self.token
            if current is not None and not current.is_expired(leeway=self.leeway):
                return True
            self.renew()
            return True

    def request(self, method, url, withhold_token=False, auth=None, **kwargs):
        try:
            return super().request(method, url, withhold_token=withhold_token, auth=auth, **kwargs)
        except OAuthError as exc:  # authlib's own token errors: never a traceback
            reason = exc.description or exc.error or type(exc).__name__
            raise LoginError(self._explain("token_error", reason)) from None
