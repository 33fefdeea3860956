"""HTTP session with retries, and the EOG login.

Retries on connection errors and 5xx/429 come from urllib3's ``Retry`` (with
exponential backoff and ``Retry-After``). Authentication is a bearer token: taken
from ``EOG_TOKEN``, or exchanged for ``EOG_USERNAME``/``EOG_PASSWORD`` at EOG's
OpenID Connect token endpoint. Tokens are never logged, and requests drops the
``Authorization`` header when a redirect leaves the original host.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .errors import LoginError

log = logging.getLogger(__name__)

LOGIN_HELP = "login failed: set EOG_TOKEN or EOG_USERNAME/EOG_PASSWORD"
USER_AGENT = "sezlights/0.1 (+VIIRS SEZ night-lights pipeline)"


def make_session(
    retries: int = 5, backoff: float = 1.0, token: str | None = None
) -> requests.Session:
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff,
        backoff_max=60,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    s = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    s.headers["User-Agent"] = USER_AGENT
    if token:
        s.headers["Authorization"] = f"Bearer {token}"
    return s


def get_token(
    auth: Mapping, env: Mapping[str, str] | None = None, timeout: float = 30
) -> str | None:
    """Bearer token from the environment, or None when no credentials are set.

    ``auth`` holds ``token_url``, ``client_id`` and ``client_secret`` (config ``source.auth``).
    """
    env = os.environ if env is None else env
    token = env.get("EOG_TOKEN", "").strip()
    if token:
        return token
    user, password = env.get("EOG_USERNAME", ""), env.get("EOG_PASSWORD", "")
    if not (user and password):
        return None
    data = {
        "client_id": auth["client_id"],
        "client_secret": auth["client_secret"],
        "username": user,
        "password": password,
        "grant_type": "password",
    }
    session = make_session(retries=3)
    try:
        r = session.post(auth["token_url"], data=data, timeout=timeout)
    except requests.RequestException as exc:
        raise LoginError(
            f"{LOGIN_HELP} (token endpoint {auth['token_url']} unreachable: {type(exc).__name__})"
        ) from None
    if r.status_code in (400, 401, 403):
        raise LoginError(f"{LOGIN_HELP} (EOG rejected the username/password, HTTP {r.status_code})")
    if not r.ok:
        raise LoginError(f"{LOGIN_HELP} (token endpoint answered HTTP {r.status_code})")
    try:
        return r.json()["access_token"]
    except (ValueError, KeyError):
        raise LoginError(f"{LOGIN_HELP} (token endpoint sent no access_token)") from None


def check_login(response: requests.Response, what: str) -> None:
    """Raise LoginError for 401/403 or an HTML page served where a file was expected."""
    if response.status_code in (401, 403):
        raise LoginError(f"{LOGIN_HELP} (HTTP {response.status_code} for {what})")
    ctype = response.headers.get("Content-Type", "")
    if response.ok and "text/html" in ctype.lower():
        raise LoginError(f"{LOGIN_HELP} (the server sent an HTML page, not {what})")
