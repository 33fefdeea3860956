"""HTTP sessions with one retry budget per file, and login-page detection.

Retries on connection errors and on 429/5xx come from urllib3's ``Retry`` (with
exponential backoff and ``Retry-After``), made to share one :class:`Budget` with
the resumes :mod:`sezlights.download` does itself after a cut body. A budget is a
time limit and a count of tries for one file: when it is spent, the next try is
not made and no sleep comes after the last try. Every failure is recorded as
what the server answered (``HTTP 500 Internal Server Error``, ``connection
refused``, ``read timed out``), so the final message says it.

Requests drops the ``Authorization`` header when a redirect leaves the original
host, so a bearer token never reaches another server.
"""

from __future__ import annotations

import collections
import logging
import time
from http import HTTPStatus
from urllib.parse import unquote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.util.retry import Retry

log = logging.getLogger(__name__)

USER_AGENT = "sezlights/0.2 (+VIIRS SEZ night-lights pipeline)"
RETRY_STATUS = (429, 500, 502, 503, 504)


class Budget:
    """Time and tries allowed for one file, and what happened on each failed try."""

    def __init__(self, seconds: float, tries: int | None = None, backoff: float = 1.0):
        self.seconds = seconds
        self.start = time.monotonic()
        self.deadline = self.start + seconds
        self.tries = tries
        self.tries_left = tries
        self.backoff = backoff
        self.failures: collections.Counter[str] = collections.Counter()
        self.n_failures = 0
        self.last = ""
        # told of every wait before a next try: (what the try met, seconds), e.g. to show it
        self.listener = None

    def announce(self, what: str, wait: float) -> None:
        """Tell the listener (the job's progress file) of a wait before the next try."""
        if self.listener is not None:
            self.listener(what, wait)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def note(self, what: str) -> None:
        self.failures[what] += 1
        self.n_failures += 1
        self.last = what

    def next_wait(self) -> float | None:
        """Seconds to wait before the next try, or None when the budget is spent.

        Exponential backoff (``backoff`` x 2^(n-1), at most 60 s); a try that would
        start after the deadline is not made, so nothing sleeps after the last try.
        """
        if self.tries_left is not None and self.tries_left <= 0:
            return None
        wait = min(self.backoff * 2 ** max(0, self.n_failures - 1), 60.0)
        if wait >= self.remaining():
            return None
        return wait

    def take_try(self) -> None:
        if self.tries_left is not None:
            self.tries_left -= 1

    def summary(self) -> str:
        """What the failed tries met, most frequent first, the server's answers first.

        E.g. ``the server answered HTTP 500 Internal Server Error 7 times; connection
        reset 2 times``.
        """

        def counted(items) -> str:
            return ", ".join(f"{what} {n} time{'s' if n > 1 else ''}" for what, n in items)

        ranked = self.failures.most_common()
        answers = [(w, n) for w, n in ranked if w.startswith("HTTP ")]
        others = [(w, n) for w, n in ranked if not w.startswith("HTTP ")]
        parts = ([f"the server answered {counted(answers)}"] if answers else []) + (
            [counted(others)] if others else []
        )
        return "; ".join(parts) or "no answer"

    def limits(self) -> str:
        """E.g. ``download.retry_budget 300 s, download.attempts 20``."""
        tries = f", download.attempts {self.tries}" if self.tries is not None else ""
        return f"download.retry_budget {self.seconds:g} s{tries}"


def describe_status(status: int) -> str:
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def describe_error(exc: BaseException | None) -> str:
    """A short, secret-free description of a connection-level failure."""
    if exc is None:
        return "no answer"
    text = f"{type(exc).__name__}: {exc}"
    low = text.lower()
    for needle, what in (
        ("read timed out", "read timed out"),
        ("connect timeout", "connection timed out"),
        ("timed out", "timed out"),
        ("refused", "connection refused"),
        ("reset by peer", "connection reset"),
        ("connectionreset", "connection reset"),
        ("incompleteread", "body cut short"),
        ("remotedisconnected", "server closed the connection"),
        ("name or service not known", "host name not found"),
        ("nodename nor servname", "host name not found"),
        ("certificate", "TLS certificate error"),
    ):
        if needle in low:
            return what
    return type(exc).__name__


class BudgetRetry(Retry):
    """urllib3 ``Retry`` that also stops when its :class:`Budget` is spent.

    Each retry urllib3 would make is first noted in the budget; when the budget
    cannot afford the wait before the next try, urllib3 is told retries are
    exhausted (so with ``raise_on_status=False`` the last response is returned,
    and its status reaches the caller).
    """

    budget: Budget | None = None

    def new(self, **kw):
        retry = super().new(**kw)
        retry.budget = self.budget
        return retry

    def increment(
        self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None
    ):
        budget = self.budget
        if budget is not None:
            what = (
                describe_status(response.status) if response is not None else describe_error(error)
            )
            budget.note(what)
            wait = budget.next_wait()
            retry_after = self.get_retry_after(response) if response is not None else None
            if wait is None or (retry_after is not None and retry_after >= budget.remaining()):
                reason = error or ResponseError(what)
                raise MaxRetryError(_pool, url, reason)
            budget.take_try()
            if retry_after:
                wait = max(wait, retry_after)
            log.warning(
                "%s: try %d failed (%s); trying again in %.1f s",
                _file_name(url),
                budget.n_failures,
                what,
                wait,
            )
            budget.announce(what, wait)
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def get_backoff_time(self) -> float:
        if self.budget is not None:
            wait = self.budget.backoff * 2 ** max(0, self.budget.n_failures - 1)
            return max(0.0, min(wait, 60.0, self.budget.remaining()))
        return super().get_backoff_time()


def _file_name(url: str | None) -> str:
    """The last part of a URL's path (no host, no query: nothing secret is logged)."""
    path = urlsplit(url or "").path
    return unquote(path.rstrip("/").rsplit("/", 1)[-1]) or "/"


def retry_policy(budget: Budget | None = None, retries: int = 5, backoff: float = 1.0) -> Retry:
    retry = BudgetRetry(
        total=None if budget is not None else retries,
        connect=None if budget is not None else retries,
        read=None if budget is not None else retries,
        status=None if budget is not None else retries,
        other=0,
        backoff_factor=backoff,
        backoff_max=60,
        status_forcelist=RETRY_STATUS,
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    retry.budget = budget
    return retry


def mount_retries(session: requests.Session, budget: Budget | None = None, **kw) -> None:
    adapter = HTTPAdapter(max_retries=retry_policy(budget, **kw))
    session.mount("http://", adapter)
    session.mount("https://", adapter)


def make_session(session: requests.Session | None = None, **kw) -> requests.Session:
    """``session`` (or a new one) with retries (``budget=``: one file's), and our User-Agent."""
    s = session if session is not None else requests.Session()
    mount_retries(s, **kw)
    s.headers["User-Agent"] = USER_AGENT
    return s


class _ParentBearer(requests.auth.AuthBase):
    """Adds the parent session's current ``Authorization`` header to each request (not to
    redirects: requests prepares session auth once per request, and strips the header
    when a redirect leaves the host)."""

    def __init__(self, parent: requests.Session):
        self.parent = parent

    def __call__(self, r):
        bearer = getattr(self.parent, "bearer", None)
        value = bearer() if bearer is not None else self.parent.headers.get("Authorization")
        if value:
            r.headers["Authorization"] = value
        return r


def child_session(parent: requests.Session, budget: Budget | None = None) -> requests.Session:
    """A session of its own (its own connections and retry ``budget``) that logs in as
    ``parent`` does: each request carries the parent's current token, and ``renew()``
    renews the parent's. One per download thread, so budgets never mix."""
    s = make_session(budget=budget)
    s.auth = _ParentBearer(parent)
    s.renew = getattr(parent, "renew", None) or _cannot_renew
    return s


def _cannot_renew() -> None:
    from .errors import LoginError

    raise LoginError("the server refused the request although no login is needed; try again later.")
