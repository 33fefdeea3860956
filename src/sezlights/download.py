"""Download one tile archive: retried, resumable, verified, atomic.

The body is written to ``{dest}.part``; an interrupted transfer (connection reset,
short body, stall, killed job) resumes from there with an HTTP ``Range`` request.
Only a file whose size matches and whose archive decompresses cleanly is renamed
to ``dest``: nothing half-downloaded ever looks complete.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

import requests
from tqdm import tqdm

from . import archive
from .errors import DownloadError, LoginError, MissingTileError
from .http import check_login

log = logging.getLogger(__name__)

_TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class _ShortBody(Exception):
    pass


def download(
    session: requests.Session,
    url: str,
    dest: str | Path,
    expected_size: int | None = None,
    attempts: int = 6,
    timeout: tuple[float, float] = (10, 60),
    backoff: float = 1.0,
    progress_file=None,
) -> Path:
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    name = dest.name
    last: Exception | None = None
    for attempt in range(1, attempts + 1):
        have = part.stat().st_size if part.exists() else 0
        if expected_size is not None and have > expected_size:
            part.unlink()
            have = 0
        if expected_size is not None and have == expected_size and have > 0:
            break
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            _fetch(session, url, part, have, headers, timeout, name, progress_file)
            break
        except (LoginError, MissingTileError):
            raise
        except (*_TRANSIENT, _ShortBody) as exc:
            last = exc
            wait = min(backoff * 2 ** (attempt - 1), 60)
            log.warning(
                "%s: attempt %d/%d failed (%s); retrying in %.0fs",
                name,
                attempt,
                attempts,
                _describe(exc),
                wait,
            )
            time.sleep(wait)
    else:
        raise DownloadError(
            f"could not download {name} after {attempts} attempts (last error: {_describe(last)}); "
            "the partial file is kept and the next run resumes it. Check the network and run again."
        )
    size = part.stat().st_size
    if expected_size is not None and size != expected_size:
        part.unlink()
        raise DownloadError(
            f"{name}: downloaded {size} bytes but the listing says {expected_size}; "
            "the file was removed, run again to download it anew."
        )
    try:
        archive.verify(part)
    except archive.CorruptArchiveError:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, dest)
    log.info("%s: %d bytes downloaded and verified", name, size)
    return dest


def _fetch(session, url, part: Path, have: int, headers, timeout, name, progress_file) -> None:
    with session.get(url, headers=headers, stream=True, timeout=timeout) as r:
        check_login(r, name)
        if r.status_code == 404:
            raise MissingTileError(
                f"{name} is listed but the server answers 404 at {url}; it may have been "
                "republished: run again to list the month anew."
            )
        if r.status_code == 416 and have:
            # The range starts at or past the end: the part file is complete already
            # (or longer than the file: start again).
            total = _content_range_total(r.headers.get("Content-Range", ""))
            if total is not None and total == have:
                return
            part.unlink()
            raise _ShortBody("range not satisfiable; restarting from the beginning")
        if r.status_code >= 500:
            raise requests.ConnectionError(f"HTTP {r.status_code}")
        if not r.ok:
            raise DownloadError(f"{name}: the server answered HTTP {r.status_code} for {url}.")
        if r.status_code == 206 and have:
            mode, start = "ab", have
        else:
            mode, start = "wb", 0
        length = r.headers.get("Content-Length")
        expected_end = start + int(length) if length is not None else None
        written = start
        first = True
        with (
            open(part, mode) as f,
            tqdm(
                total=expected_end,
                initial=start,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=name[-40:],
                file=progress_file or sys.stderr,
                mininterval=2,
                ascii=True,
            ) as bar,
        ):
            for chunk in r.iter_content(chunk_size=1 << 16):
                if first and start == 0:
                    first = False
                    if not chunk.startswith(b"\x1f\x8b"):
                        if chunk.lstrip()[:1] == b"<":
                            raise LoginError(
                                f"login failed: set EOG_TOKEN or EOG_USERNAME/EOG_PASSWORD "
                                f"(the server sent an HTML page, not {name})"
                            )
                        raise archive.CorruptArchiveError(
                            f"{name}: the server sent something that is not a gzip archive; "
                            "run again later, report it if it persists."
                        )
                f.write(chunk)
                written += len(chunk)
                bar.update(len(chunk))
        if expected_end is not None and written < expected_end:
            raise _ShortBody(f"body ended at {written} of {expected_end} bytes")


def _content_range_total(value: str) -> int | None:
    # "bytes */12345"
    try:
        return int(value.rsplit("/", 1)[1])
    except (IndexError, ValueError):
        return None


def _describe(exc: Exception | None) -> str:
    if exc is None:
        return "unknown"
    text = str(exc)
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__
