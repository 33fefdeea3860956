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
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests
from urllib3.exceptions import MaxRetryError

from . import disk
from .atomic import atomic_path
from .errors import CorruptFileError, DownloadError, LoginError, MissingFileError
from .http import RETRY_STATUS, Budget, describe_error, describe_status

log = logging.getLogger(__name__)

CHUNK = 1 << 14  # bytes per read of the body

_TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class TryFailed(Exception):
    """A try that failed in a way worth another try (the description says how)."""


class _Relogin(Exception):
    pass


class _StatusSpent(Exception):
    """urllib3 returned a 5xx/429 because the budget could not afford another try."""


class _Relocate(Exception):
    """The address the target handed out has expired: ask for a new one."""


class Progress:
    """Bytes so far of a job's downloads, kept in ``{log}.progress`` (JSON) for the
    console to show, summed over the job's files (the job log contract)::

        {"name", "bytes", "total", "started", "updated", "received", "waiting"}

    ``bytes``: what the files hold so far, files finished by an earlier run and resumed
    part files included; ``total``: None while a file's size is unknown; ``started`` and
    ``updated``: unix times; ``received``: the bytes this job received itself, so the
    job's download rate is ``received / (updated - started)`` whatever was there before
    it; ``waiting``: the retry waits under way, one per file waiting (the console shows
    them, so a server answering 500 for minutes is never a silent console)::

        {"file", "answer", "try", "next_try", "budget_ends", "tries_left"}

    (what the server answered, the failed try's number, the unix times of the next try
    and of the end of the file's retry budget, the tries left or None). Thread-safe."""

    def __init__(self, path: str | Path | None, name: str, every: float = 1.0):
        self.path = Path(path) if path else None
        self.name, self.every = name, every
        self.started = time.time()
        self.received = 0
        self._last = 0.0
        self._files: dict[str, tuple[int, int | None]] = {}
        self._waiting: dict[str, dict] = {}
        self._lock = threading.Lock()
        if self.path is not None:  # what a killed run's job left mid-write
            for stale in self.path.parent.glob(f".{self.path.name}.*.tmp"):
                stale.unlink(missing_ok=True)

    @property
    def bytes(self) -> int:
        return sum(done for done, _ in self._files.values())

    @property
    def total(self) -> int | None:
        totals = [t for _, t in self._files.values()]
        return None if not totals or any(t is None for t in totals) else sum(totals)

    def update(
        self, file: str, done: int, total: int | None, force: bool = False, count: bool = True
    ) -> None:
        """``file`` holds ``done`` bytes of ``total``. ``count=False``: bytes that were there
        before (a file downloaded earlier, a part file a try resumes), not received now."""
        with self._lock:
            before = self._files.get(file, (0, None))[0]
            if count and done > before:
                self.received += done - before
            self._files[file] = (done, total)
            self._waiting.pop(file, None)  # a try is under way again
            self._write(force)

    def waiting(self, file: str, answer: str, wait: float, budget) -> None:
        """``file``'s try ``budget.n_failures`` failed (``answer``); the next in ``wait`` s."""
        now = time.time()
        with self._lock:
            self._waiting[file] = {
                "file": file,
                "answer": answer,
                "try": budget.n_failures,
                "next_try": now + wait,
                "budget_ends": now + budget.remaining(),
                "tries_left": budget.tries_left,
            }
            self._write(force=True)

    def _write(self, force: bool) -> None:
        now = time.time()
        if self.path is None or (not force and now - self._last < self.every):
            return
        self._last = now
        state = {"name": self.name, "bytes": self.bytes, "total": self.total}
        state.update(started=self.started, updated=now, received=self.received)
        state["waiting"] = list(self._waiting.values())
        try:
            with atomic_path(self.path) as tmp:
                tmp.write_text(json.dumps(state))
        except OSError as exc:  # only the console's display: never fails the download
            log.debug("progress file %s not written: %s", self.path, exc)

    def close(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


class Target:
    """Where each try of one file's download GETs its bytes: ``locate()`` gives the
    session and URL (a server may hand out a new URL per try), ``refused(response)``
    says whether the answer is a login refusal. This one: the file's own URL, with the
    source's session (its token renewed once when refused)."""

    def __init__(self, session: requests.Session, url: str, is_login_page=None):
        self.session, self.url = session, url
        self._is_login_page = is_login_page or (lambda r: False)

    def locate(self, timeout) -> tuple[requests.Session, str]:
        return self.session, self.url

    def refused(self, response: requests.Response) -> bool:
        return response.status_code in (401, 403) or self._is_login_page(response)

    def renew(self) -> None:
        self.session.renew()

    def expired(self, response: requests.Response) -> bool:
        """True if the located URL has expired (locate again, no wait)."""
        return False


def download(
    target: Target,
    dest: str | Path,
    *,
    verify: Callable[[Path], None],
    budget: Budget,
    signature: bytes | tuple[bytes, ...] = b"",
    timeout: tuple[float, float] = (10, 60),
    progress: Progress | None = None,
    part: Path | None = None,
) -> Path:
    """Fetch a file to ``dest`` through ``target``; returns ``dest``.

    ``verify(path)`` raises :class:`~sezlights.errors.CorruptFileError` for a bad
    file; ``signature`` is what the file's first bytes must be (a gzip, HDF5 or TIFF magic
    number), so an HTML page is never written as data. ``part``: where the partial file
    is kept between tries and runs (default ``{dest}.part``).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = Path(part) if part is not None else dest.with_name(dest.name + ".part")
    part.parent.mkdir(parents=True, exist_ok=True)
    progress = progress or Progress(None, dest.name)
    # every retry wait, urllib3's included (sezlights.http.BudgetRetry), is shown
    budget.listener = lambda what, wait: progress.waiting(dest.name, what, wait, budget)
    relogged = False
    while True:
        budget.take_try()
        try:
            _fetch(target, part, timeout, dest.name, signature, progress)
            break
        except _Relocate as exc:
            budget.note(str(exc))
            if budget.next_wait() is None:  # the budget is spent: no new address
                _give_up(budget, dest.name, part)
            log.info("%s: %s; asking for a new address", dest.name, exc)
        except _Relogin:
            if relogged:  # a fresh token was refused too: not an expiry
                raise LoginError(
                    f"the server keeps sending its login page for {dest.name} although "
                    "the login succeeded: the account may lack access to this data."
                ) from None
            log.info("%s: the server asked to log in again; renewing the token", dest.name)
            target.renew()
            relogged = True
        except _StatusSpent:
            _give_up(budget, dest.name, part)
        except TryFailed as exc:
            budget.note(str(exc))
            _wait_or_give_up(budget, dest.name, part)
        except _TRANSIENT as exc:
            if _budget_spent(exc):  # urllib3 stopped retrying: the budget is spent
                _give_up(budget, dest.name, part)
            budget.note(describe_error(exc))
            _wait_or_give_up(budget, dest.name, part)
    size = part.stat().st_size
    progress.update(dest.name, size, size, force=True)
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
    budget.announce(budget.last, wait)
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


def _fetch(target: Target, part: Path, timeout, name, signature, progress) -> None:
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    session, url = target.locate(timeout)
    with session.get(url, headers=headers, stream=True, timeout=timeout) as r:
        if target.expired(r):
            raise _Relocate(f"the signed address expired ({describe_status(r.status_code)})")
        if target.refused(r):
            raise _Relogin
        if r.status_code == 404:
            raise MissingFileError(
                f"{name} is listed but the server answers 404 at {_shown(url)}; it may have been "
                "republished: run again to list the month anew."
            )
        if r.status_code == 416 and have:
            total = _content_range_total(r.headers.get("Content-Range", ""))
            if total is not None and total == have:
                return  # the part file is complete already
            part.unlink()
            raise TryFailed("range not satisfiable (restarting from the beginning)")
        if r.status_code in RETRY_STATUS:
            # urllib3 returned it because the budget could not afford another try
            raise _StatusSpent
        if not r.ok:
            raise DownloadError(
                f"{name}: the server answered {describe_status(r.status_code)} for {_shown(url)}."
            )
        resumed = r.status_code == 206 and have
        start = have if resumed else 0
        length = r.headers.get("Content-Length")
        end = start + int(length) if length is not None else None
        need = end - start if end is not None else None
        progress.update(name, start, end, count=False)  # resumed bytes were there before
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
                    progress.update(name, written, end)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise disk.disk_full_error(part, need) from None
            raise
        if end is not None and written < end:
            raise TryFailed(f"body cut at {written} of {end} bytes")


def _shown(url: str) -> str:
    """A URL without its query (a signed URL's signature is a secret)."""
    return url.split("?", 1)[0]


def _content_range_total(value: str) -> int | None:
    try:
        return int(value.rsplit("/", 1)[1])  # "bytes */12345"
    except (IndexError, ValueError):
        return None


class Cancelled(Exception):
    """Another file of the month failed: this one stops (its part file is kept)."""


def download_month(
    source,
    manifest,
    dest: str | Path,
    staging: str | Path,
    parallel: int = 2,
    progress_path: str | Path | None = None,
    keep: bool = True,
) -> list[Path]:
    """Download a month's whole files into the folder ``dest``, ``parallel`` at a time.

    Each file has its own retry budget and session (logged in as the source's) and comes
    into ``staging`` (``.part`` while it comes, its own name once verified), so a killed or
    failed job resumes where it stopped. Files of ``staging`` the manifest no longer names
    are deleted. Only when every file is there is ``dest`` made, atomically: a month's
    folder is complete or absent, never half there. With ``keep``, the files stay in
    ``staging`` too (``dest`` holds hard links to them, no second copy): when a
    republished file reruns the month (Snakemake clears ``dest`` first), the others are
    linked again, not downloaded again; without, they are moved.
    """
    from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

    dest, staging = Path(dest), Path(staging)
    parts = manifest.downloads()
    staging.mkdir(parents=True, exist_ok=True)
    names = {p.name for p in parts}
    for old in staging.iterdir():
        if old.name.removesuffix(".part") not in names:
            old.unlink()  # a file the month no longer uses (republished under a new name)
    progress = Progress(progress_path, f"{len(parts)} file{'s' * (len(parts) != 1)}")
    stop = threading.Event()
    parent = source.session() if any(not (staging / p.name).exists() for p in parts) else None
    for p in parts:
        done = staging / p.name
        progress.update(p.name, done.stat().st_size if done.exists() else 0, p.size, count=False)

    def one(p) -> Path:
        done = staging / p.name
        if done.exists():  # downloaded and verified before (an earlier, interrupted run)
            log.info("%s: already downloaded", p.name)
            return done
        return source.download(parent, p, done, progress=_Guarded(progress, stop))

    pool = ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="download")
    interrupted = False
    try:
        futures = [pool.submit(one, p) for p in parts]
        finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failed = [f for f in finished if f.exception() is not None]
        if failed:
            stop.set()
            wait(futures)
            raise failed[0].exception()
    except KeyboardInterrupt:
        # Ctrl-C: no wait for a download stalled on its socket (up to download.timeout);
        # the part files stay for the next run (sezlights.job ends the job at once)
        interrupted = True
        stop.set()
        raise
    except BaseException:
        stop.set()  # a failure: the other downloads stop at their next chunk
        raise
    finally:
        pool.shutdown(wait=not interrupted, cancel_futures=True)
        progress.close()
    _publish(staging, dest, [p.name for p in parts], keep)
    return [dest / p.name for p in parts]


def _publish(staging: Path, dest: Path, names: list[str], keep: bool) -> None:
    """Make ``dest`` hold ``names`` of ``staging``, atomically (a folder beside it, then
    renamed): hard links with ``keep`` (a copy where the file system has none)."""
    import shutil

    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in names:
        if not keep:
            os.replace(staging / name, tmp / name)
            continue
        try:
            os.link(staging / name, tmp / name)
        except OSError:  # no hard links here: a second copy rather than a new download
            shutil.copy2(staging / name, tmp / name)
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(tmp, dest)
    if not keep:
        shutil.rmtree(staging, ignore_errors=True)


class _Guarded:
    """The job's progress, for one file: stops the file's download once ``stop`` is set."""

    def __init__(self, progress: Progress, stop: threading.Event):
        self.progress, self.stop = progress, stop

    def update(
        self, file: str, done: int, total: int | None, force: bool = False, count: bool = True
    ) -> None:
        if self.stop.is_set():
            raise Cancelled(f"{file}: stopped ({done} bytes kept for the next run)")
        self.progress.update(file, done, total, force, count)

    def waiting(self, file: str, answer: str, wait: float, budget) -> None:
        if self.stop.is_set():
            raise Cancelled(f"{file}: stopped (another file of the month failed)")
        self.progress.waiting(file, answer, wait, budget)
