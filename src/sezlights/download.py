"""Download one file: one retry budget, resumable, verified, atomic.

The body is written to ``{dest}.part``; an interrupted transfer (connection reset,
short body, stall, killed job) resumes from there with an HTTP ``Range`` request.
All tries for the file, urllib3's retries on 5xx and connection errors included,
draw on one :class:`~sezlights.http.Budget` (``download.retry_budget`` seconds and
``download.attempts`` tries): when it is spent the error says what the server
answered, and nothing sleeps after the last try. A login page or 401/403 asks the
session for a new token once (a 5-minute token that expired during a long run, or
mid-file: the resumed request carries the new one). Only a file whose length
matches the server's ``Content-Length`` and that passes the source's integrity
check is renamed to ``dest``: nothing half-downloaded ever looks complete; one
that fails the check is deleted. A disk too small for the file, or one that fills
up while it is written, ends with a :class:`~sezlights.errors.DiskFullError` that
names the file and how much it needs.
"""

from __future__ import annotations

import errno
import itertools
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import requests
from urllib3.exceptions import MaxRetryError

from . import disk
from .atomic import atomic_path
from .errors import CorruptFileError, DownloadError, LoginError, MissingFileError
from .http import RETRY_STATUS, Budget, describe_error, describe_status, mount_retries

log = logging.getLogger(__name__)

CHUNK = 1 << 14  # bytes per read of the body

_TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class _Failed(Exception):
    """A try that failed in a way worth another try (the description says how)."""


class _Relogin(Exception):
    pass


class _StatusSpent(Exception):
    """urllib3 returned a 5xx/429 because the budget could not afford another try."""


class Progress:
    """Bytes so far, kept in ``{log}.progress`` (JSON) for the console to show."""

    def __init__(self, path: str | Path | None, name: str, every: float = 1.0):
        self.path = Path(path) if path else None
        self.name, self.every = name, every
        self.started = time.time()
        self._last = 0.0
        self.bytes, self.total = 0, None

    def update(self, done: int, total: int | None, force: bool = False) -> None:
        self.bytes, self.total = done, total
        now = time.time()
        if self.path is None or (not force and now - self._last < self.every):
            return
        self._last = now
        state = {"name": self.name, "bytes": done, "total": total}
        state.update(started=self.started, updated=now)
        try:
            with atomic_path(self.path) as tmp:
                tmp.write_text(json.dumps(state))
        except OSError as exc:  # only the console's display: never fails the download
            log.debug("progress file %s not written: %s", self.path, exc)

    def close(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def download(
    session: requests.Session,
    url: str,
    dest: str | Path,
    *,
    verify: Callable[[Path], None],
    is_login_page: Callable[[requests.Response], bool],
    budget: Budget,
    signature: bytes = b"",
    timeout: tuple[float, float] = (10, 60),
    progress_path: str | Path | None = None,
) -> Path:
    """Fetch ``url`` to ``dest``; returns ``dest``.

    ``verify(path)`` raises :class:`~sezlights.errors.CorruptFileError` for a bad
    file; ``is_login_page(response)`` tells a login page (or a redirect to one)
    from the file; ``signature`` is what the file's first bytes must be (a gzip or
    HDF5 magic number), so an HTML page is never written as data.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    progress = Progress(progress_path, dest.name)
    mount_retries(session, budget)
    relogged = False
    try:
        while True:
            budget.take_try()
            try:
                _fetch(session, url, part, timeout, dest.name, is_login_page, signature, progress)
                break
            except _Relogin:
                if relogged:  # a fresh token was refused too: not an expiry
                    raise LoginError(
                        f"the server keeps sending its login page for {dest.name} although "
                        "the login succeeded: the account may lack access to this data."
                    ) from None
                log.info("%s: the server asked to log in again; renewing the token", dest.name)
                session.renew()
                relogged = True
            except _StatusSpent:
                _give_up(budget, dest.name, part)
            except _Failed as exc:
                budget.note(str(exc))
                _wait_or_give_up(budget, dest.name, part)
            except _TRANSIENT as exc:
                if _budget_spent(exc):  # urllib3 stopped retrying: the budget is spent
                    _give_up(budget, dest.name, part)
                budget.note(describe_error(exc))
                _wait_or_give_up(budget, dest.name, part)
        size = part.stat().st_size
        progress.update(size, size, force=True)
        try:
            verify(part)
        except CorruptFileError as exc:
            # a whole file that fails its check: resuming it would only fail again
            part.unlink(missing_ok=True)
            reason = str(exc).replace(part.name, dest.name).split("; delete it")[0]
            raise CorruptFileError(
                f"{reason}; the download ({disk.human_bytes(size)}) fails this check, so it was "
                "deleted: run again to download it anew (report it if it persists)."
            ) from None
        os.replace(part, dest)
    finally:
        progress.close()
    log.info(
        "%s: %d bytes downloaded and verified in %.1f s",
        dest.name,
        dest.stat().st_size,
        budget.elapsed(),
    )
    return dest


def _budget_spent(exc: BaseException) -> bool:
    return any(isinstance(a, MaxRetryError) for a in getattr(exc, "args", ()))


def _wait_or_give_up(budget: Budget, name: str, part: Path) -> None:
    wait = budget.next_wait()
    if wait is None:  # nothing sleeps after the last try
        _give_up(budget, name, part)
    log.warning(
        "%s: try %d failed (%s); trying again in %.1f s", name, budget.n_failures, budget.last, wait
    )
    time.sleep(wait)


def _give_up(budget: Budget, name: str, part: Path) -> None:
    have = part.stat().st_size if part.exists() else 0
    kept = (
        f"the {disk.human_bytes(have)} received so far are kept in {part.name}, and the next "
        "run resumes them"
        if have
        else "no part of the file was received"
    )
    if any(what.startswith("HTTP ") for what in budget.failures):
        hint = "Run again later; if it persists, tell the server's operators"
    else:  # nothing but connection failures
        hint = "Check the network (and that the server is up) and run again"
    tries = budget.n_failures
    raise DownloadError(
        f"gave up on {name} after {tries} failed {'try' if tries == 1 else 'tries'} in "
        f"{budget.elapsed():.0f} s ({budget.limits()}): {budget.summary()}; {kept}. {hint}."
    ) from None


def _fetch(session, url, part: Path, timeout, name, is_login_page, signature, progress) -> None:
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    with session.get(url, headers=headers, stream=True, timeout=timeout) as r:
        if r.status_code in (401, 403) or is_login_page(r):
            raise _Relogin
        if r.status_code == 404:
            raise MissingFileError(
                f"{name} is listed but the server answers 404 at {url}; it may have been "
                "republished: run again to list the month anew."
            )
        if r.status_code == 416 and have:
            total = _content_range_total(r.headers.get("Content-Range", ""))
            if total is not None and total == have:
                return  # the part file is complete already
            part.unlink()
            raise _Failed("range not satisfiable (restarting from the beginning)")
        if r.status_code in RETRY_STATUS:
            # urllib3 returned it because the budget could not afford another try
            raise _StatusSpent
        if not r.ok:
            raise DownloadError(
                f"{name}: the server answered {describe_status(r.status_code)} for {url}."
            )
        resumed = r.status_code == 206 and have
        start = have if resumed else 0
        length = r.headers.get("Content-Length")
        end = start + int(length) if length is not None else None
        need = end - start if end is not None else None
        disk.expect_disk(part, need or 0)
        if need is not None and need > disk.free_bytes(part.parent):
            raise disk.disk_full_error(part, need)
        # small reads: when a body is cut, urllib3 drops the read in progress, so what a
        # resume has to fetch again is at most one chunk
        chunks = r.iter_content(chunk_size=CHUNK)
        if start == 0 and signature:  # checked before anything is written
            first = next(chunks, b"")
            if not first.startswith(signature):
                if first.lstrip()[:1] == b"<":
                    raise _Relogin
                raise CorruptFileError(
                    f"{name}: the server sent something that is not this kind of file; "
                    "run again later, report it if it persists."
                )
            chunks = itertools.chain([first], chunks)
        written = start
        try:
            with open(part, "ab" if resumed else "wb") as f:
                for chunk in chunks:
                    f.write(chunk)
                    written += len(chunk)
                    progress.update(written, end)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise disk.disk_full_error(part, need) from None
            raise
        if end is not None and written < end:
            raise _Failed(f"body cut at {written} of {end} bytes")


def _content_range_total(value: str) -> int | None:
    try:
        return int(value.rsplit("/", 1)[1])  # "bytes */12345"
    except (IndexError, ValueError):
        return None
