"""Reading remote files by window: only the bytes the zones need.

- GeoTIFFs (Light Every Night's COGs, EOG's untiled global files) through GDAL, via
  rasterio and ``/vsicurl/``: GDAL reads the header with one ranged GET
  (``GDAL_INGESTED_BYTES_AT_OPEN``) after a HEAD for its size, then only the
  internal tiles or strips a read touches, with its own HTTP retries
  (``GDAL_HTTP_MAX_RETRY``/``GDAL_HTTP_RETRY_DELAY``), timeouts and block cache
  (:func:`gdal_options`). A bearer token goes in GDAL's ``GDAL_HTTP_AUTH=BEARER`` +
  ``GDAL_HTTP_BEARER`` (GDAL >= 3.9; ``GDAL_HTTP_HEADERS`` before), never in a URL or a
  file. :class:`RemoteTiff` reopens the file and tries a read again (within the file's
  retry budget) when GDAL gives up on it, e.g. after a body cut short; it reopens with a
  fresh token when the session renewed it, and renews it once when the server refuses it.
- HDF5 (Black Marble) through h5py over :class:`RangeFile`, a file object whose reads are
  HTTP ``Range`` requests, cached by block: h5py reads the file's metadata with a few small
  requests, then only the chunks a read touches.
- :func:`probe`: one ``Range: bytes=0-0`` request telling whether a server honours ranges,
  and the file's identity (size, ETag, Last-Modified), which the month's manifest records:
  a file that changes between runs is noticed, and one that changes between its listing and
  its reading stops the job.

GDAL's own reader is used for GeoTIFFs rather than a TIFF parser of our own; h5py has no
HTTP reader, hence :class:`RangeFile` (requests, urllib3 retries, the file's budget).
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import requests

if TYPE_CHECKING:
    from rasterio.windows import Window

from .errors import (
    ChangedFileError,
    CorruptFileError,
    DownloadError,
    LoginError,
    MissingFileError,
    UserError,
)
from .http import USER_AGENT, Budget, describe_error, describe_status

log = logging.getLogger(__name__)

HEADER_BYTES = 1 << 16  # what GDAL reads in its first request (a COG's header and offsets)
# RangeFile: small reads are fetched in aligned blocks of this size (GDAL's /vsicurl/
# chunk size: opening a 46 MB Black Marble file and reading 10 x 20 pixels of three
# datasets fetched 0.5 MB with 16 KiB blocks, 1.1 MB with 64 KiB, in 12-14 requests)
BLOCK = 1 << 14
CACHE_BLOCKS = 1024  # ... and up to this many are kept (16 MiB)


class NoRangeSupport(Exception):
    """The server answers a ranged request with the whole file: read by window it cannot be."""


@dataclass(frozen=True)
class Identity:
    """A remote file as the server describes it (what makes a rerun exact without a copy)."""

    size: int | None
    etag: str | None
    modified: str | None


def probe(session: requests.Session, url: str, timeout, refused=None) -> Identity:
    """Ask for the first byte: 206 means ranges work; the answer says size and identity.

    Raises :class:`NoRangeSupport` on a 200 (the whole file would come),
    MissingFileError on 404, UserError on another refusal. ``refused(response)`` tells a
    login page (a token the server no longer takes): the session's token is renewed once
    (``session.renew()``), a second refusal is a LoginError.
    """
    for renewed in (False, True):
        try:
            r = session.get(url, headers={"Range": "bytes=0-0"}, stream=True, timeout=timeout)
        except requests.RequestException as exc:
            raise UserError(
                f"could not reach {_shown(url)} ({describe_error(exc)}); try again later."
            ) from None
        with r:
            if r.status_code in (401, 403) or (refused is not None and refused(r)):
                if renewed or not hasattr(session, "renew"):
                    raise LoginError(
                        f"the server refuses {_shown(url).rsplit('/', 1)[-1]} although the "
                        "login succeeded: the account may lack access to this data."
                    )
                session.renew()
                continue
            if r.status_code == 200:
                raise NoRangeSupport(url)
            if r.status_code == 404:
                raise MissingFileError(
                    f"{_shown(url)} is not there (HTTP 404); list the month again."
                )
            if r.status_code != 206:
                raise UserError(
                    f"{_shown(url)} answered {describe_status(r.status_code)} to a ranged "
                    "request; try again later."
                )
            total = r.headers.get("Content-Range", "").rsplit("/", 1)[-1]
            return Identity(
                size=int(total) if total.isdigit() else None,
                etag=r.headers.get("ETag"),
                modified=r.headers.get("Last-Modified"),
            )
    raise AssertionError("unreachable")


def _shown(url: str) -> str:
    return url.split("?", 1)[0]


# ------------------------------------------------------------------------ GeoTIFFs (GDAL)


def gdal_options(
    timeout: float = 60, tries: int = 5, headers: dict | None = None, bearer: str | None = None
) -> dict:
    """GDAL configuration for reading remote GeoTIFFs by window (see the module doc).

    ``bearer``: a token GDAL sends as ``Authorization: Bearer`` on every request to the
    file's host (libcurl sends no credential to another host after a redirect).
    """
    opts = {
        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",  # no listing of the folder at open
        "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.TIF,.tiff",
        "GDAL_INGESTED_BYTES_AT_OPEN": str(HEADER_BYTES),
        "GDAL_HTTP_MAX_RETRY": str(max(0, tries - 1)),
        "GDAL_HTTP_RETRY_DELAY": "1",
        "GDAL_HTTP_TIMEOUT": str(int(timeout)),
        "GDAL_HTTP_CONNECTTIMEOUT": "10",
        "GDAL_HTTP_USERAGENT": USER_AGENT,
        # one range at a time (a server need not answer several ranges in one request),
        # neighbouring ranges merged into one
        "GDAL_HTTP_MULTIRANGE": "SERIAL",
        "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
        "VSI_CACHE": "TRUE",
        "VSI_CACHE_SIZE": str(64 << 20),
        "CPL_VSIL_CURL_CACHE_SIZE": str(128 << 20),
    }
    headers = dict(headers or {})
    if bearer is not None:
        # GDAL's default, said anyway: no credential to another host after a redirect
        opts["CPL_VSIL_CURL_AUTHORIZATION_HEADER_ALLOWED_IF_REDIRECT"] = "IF_SAME_HOST"
        if _gdal_has_bearer():
            opts["GDAL_HTTP_AUTH"] = "BEARER"  # GDAL >= 3.9: configoptions.rst
            opts["GDAL_HTTP_BEARER"] = bearer
        else:
            headers["Authorization"] = f"Bearer {bearer}"
    if headers:
        # GDAL strips the double quotes around a value and unescapes \" inside them: an
        # ETag keeps its own quotes only so (found by testing GDAL 3.10)
        opts["GDAL_HTTP_HEADERS"] = "\r\n".join(
            f'{k}: "{_gdal_escaped(v)}"' for k, v in headers.items()
        )
    return opts


def _gdal_has_bearer() -> bool:
    """GDAL_HTTP_AUTH=BEARER and GDAL_HTTP_BEARER exist from GDAL 3.9 on."""
    import rasterio

    major, minor = (int(x) for x in rasterio.__gdal_version__.split(".")[:2])
    return (major, minor) >= (3, 9)


def _gdal_escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def identity_condition(etag: str | None, modified: str | None) -> dict:
    """A file's identity as the listing recorded it, as request headers: ``If-Match``
    with its ETag, else ``If-Unmodified-Since`` with its date (a replaced file answers
    412). A weak ETag (``W/``) never matches ``If-Match`` (strong comparison; MDN,
    docs/evidence/window-reads.md): the date stands in for it."""
    if etag and not etag.startswith("W/"):
        return {"If-Match": etag}
    if modified:
        return {"If-Unmodified-Since": modified}
    return {}


class RemoteTiff:
    """A remote single-band GeoTIFF open for window reads (a context manager).

    ``headers`` is a function giving the request headers (fresh each time the file is
    opened); ``bearer`` a function giving the bearer token (the session's, renewed by it
    before it expires) and ``renew`` one that renews it now; ``budget`` bounds the
    reopenings after a failed read. ``etag``, the ETag the month's listing recorded,
    makes every request conditional (``If-Match``), so a file replaced on the server is
    never read in part (:class:`ChangedFileError`); without an ETag, ``modified`` (its
    Last-Modified) does the same with ``If-Unmodified-Since``. ``read(window)`` returns
    the pixels of a window (relative to the file).

    Tokens: before each read, a token the session renewed meanwhile reopens the file
    with the new one (GDAL keeps the one it was opened with); a failed read reopens the
    file, and an open the server refuses (401/403, or its login page instead of the
    file) renews the token once, then stops with a LoginError.
    """

    def __init__(
        self,
        url: str,
        name: str,
        headers=None,
        budget: Budget | None = None,
        timeout: float = 60,
        etag: str | None = None,
        *,
        modified: str | None = None,
        bearer=None,
        renew=None,
    ):
        self.url, self.name, self.etag, self.modified = url, name, etag, modified
        self._headers = headers or (lambda: {})
        self._bearer, self._renew = bearer, renew
        self._token: str | None = None
        self.budget = budget or Budget(300, 20)
        self.timeout = timeout
        self.opened = 0  # how many times the file was opened (tests, logs)
        self._env = self._ds = None
        self._open()

    def _open(self) -> None:
        """Open (again); a refused login renews the token once."""
        for renewed in (False, True):
            try:
                return self._open_once()
            except LoginError:
                if renewed or self._renew is None:
                    raise
                log.info("%s: the server refused the token; renewing it", self.name)
                self._renew()

    def _open_once(self) -> None:
        import rasterio

        self.close()
        headers = dict(self._headers())
        # every request conditional: a file replaced meanwhile answers 412
        headers.update(identity_condition(self.etag, self.modified))
        self._token = self._bearer() if self._bearer is not None else None
        opts = gdal_options(self.timeout, headers=headers, bearer=self._token)
        # nothing GDAL cached of this file before (an earlier open, a failed read) is
        # used: each open reads the server's current file, under its If-Match
        opts["CPL_VSIL_CURL_NON_CACHED"] = f"/vsicurl/{self.url}"
        self._env = rasterio.Env(**opts)
        self._env.__enter__()
        try:
            self._ds = rasterio.open(f"/vsicurl/{self.url}")
        except rasterio.errors.RasterioIOError as exc:
            self.close()
            raise _gdal_failure(self.name, exc, login=self._bearer is not None) from None
        if self._ds.transform.is_identity:
            # a header GDAL could not read whole: e.g. its size taken from a login page
            # the server redirected one request to (GDAL stats the file with a HEAD that
            # follows redirects, then reads the bytes with GETs)
            self.close()
            raise _not_the_file(self.name, "its header has no georeferencing", self._bearer)
        self.opened += 1

    @property
    def ds(self):
        return self._ds

    @property
    def block_shape(self) -> tuple[int, int]:
        return self._ds.block_shapes[0]

    def block_bytes(self, blocks) -> int:
        """The compressed size of internal blocks ``(row, col)`` as the header gives it."""
        return int(sum(self._ds.block_size(1, int(i), int(j)) for i, j in blocks))

    def read(self, window) -> np.ndarray:
        import rasterio

        while True:
            self.budget.take_try()
            try:
                if self._ds is None:  # the last reopening failed
                    self._open()
                elif self._bearer is not None and self._bearer() != self._token:
                    log.info("%s: the token was renewed; reopening with the new one", self.name)
                    self._open()
                return self._ds.read(1, window=window)
            except rasterio.errors.RasterioIOError as exc:
                final = _gdal_failure(self.name, exc, final_only=True)
                if final is not None:  # changed, gone or refused: trying again cannot help
                    raise final from None
                what = _first_line(exc)
            except UserError as exc:
                if type(exc) is not UserError:  # changed, gone, refused
                    raise
                what = str(exc)  # an open that failed (GDAL's own retries spent)
            _wait_or_give_up(self.budget, self.name, "by window", "a read", what)
            self.close()  # opened again at the next try

    def close(self) -> None:
        if self._ds is not None:
            self._ds.close()
            self._ds = None
        if self._env is not None:
            self._env.__exit__(None, None, None)
            self._env = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class LocalTiff:
    """A downloaded GeoTIFF with :class:`RemoteTiff`'s interface (a whole-file read)."""

    def __init__(self, path, name: str):
        import rasterio

        self.name = name
        try:
            self._ds = rasterio.open(path)
        except rasterio.errors.RasterioIOError as exc:
            raise CorruptFileError(
                f"{name} is not a readable GeoTIFF ({_first_line(exc)}); delete it and run "
                "again to download it anew."
            ) from None

    ds = RemoteTiff.ds
    block_shape = RemoteTiff.block_shape
    block_bytes = RemoteTiff.block_bytes

    def read(self, window) -> np.ndarray:
        return self._ds.read(1, window=window)

    def close(self) -> None:
        self._ds.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def verify_geotiff(path) -> None:
    """A whole GeoTIFF: it opens, and its last internal block decodes (a file cut short
    fails there); CorruptFileError otherwise."""
    from pathlib import Path

    from rasterio.windows import Window

    name = Path(path).name
    with LocalTiff(path, name) as tif:
        h, w = tif.ds.shape
        bh, bw = tif.block_shape
        r0, c0 = (h - 1) // bh * bh, (w - 1) // bw * bw
        try:
            tif.read(Window(c0, r0, min(bw, w - c0), min(bh, h - r0)))
        except Exception as exc:  # noqa: BLE001 - any decoding failure
            raise CorruptFileError(
                f"{name} is not a whole GeoTIFF ({_first_line(exc)}); delete it and run again "
                "to download it anew."
            ) from None


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def _gdal_failure(
    name: str, exc: BaseException, final_only: bool = False, login: bool = False
) -> UserError | None:
    """The error to raise for a failed GDAL open or read (``final_only``: only for a
    failure that trying again cannot mend, else None). ``login``: the file needs a login,
    so a page that is no GeoTIFF where the file should be is the server's login page."""
    text = _first_line(exc)
    if "response code: 412" in text:  # If-Match / If-Unmodified-Since failed
        return ChangedFileError(
            f"{name} changed on the server after its month was listed (it is no longer the "
            "file the listing recorded: another ETag or date)"
        )
    if "response code: 404" in text:
        return MissingFileError(
            f"{name} is no longer on the server (HTTP 404); list the month again."
        )
    if "response code: 401" in text or "response code: 403" in text:
        return LoginError(
            f"{name}: the server refused the read ({text}) although the login succeeded; "
            "check that your account has access to this data."
        )
    if final_only:
        return None
    if "not recognized as being in a supported file format" in text:
        return _not_the_file(name, text, login)
    return UserError(f"{name} could not be opened by window ({text}); try again later.")


def _not_the_file(name: str, what: str, login) -> UserError:
    """What the server sent is not the GeoTIFF the listing probed: for a file behind a
    login, its login page (a refusal: the token is renewed once); else try again."""
    if login:
        return LoginError(
            f"{name}: the server sent something that is not the file ({what}; its login "
            "page?) for a read by window although the login succeeded; check that your "
            "account has access to this data."
        )
    return UserError(f"{name} could not be opened by window ({what}); try again later.")


# ------------------------------------------------------------------------ HDF5 (h5py)


class RangeFile(io.RawIOBase):
    """A remote file whose reads are HTTP ``Range`` requests (for h5py).

    ``target`` is a :class:`sezlights.download.Target` (the address to GET, how a refusal
    or an expired signed address looks); ``budget`` is the file's retry budget. Small
    reads are fetched by aligned :data:`BLOCK` and cached; a large read is one request.
    ``fetched`` counts the bytes received.

    ``etag`` and ``modified``, the identity the month's listing recorded, make every
    request conditional (``If-Match``, else ``If-Unmodified-Since``), as for GeoTIFFs
    read by window (:class:`RemoteTiff`): a file replaced on the server, even under the
    same name and size, answers 412 and is never read in part (:class:`ChangedFileError`).
    Without them (the listing itself), the first answer's identity is used for the rest
    and kept in ``etag`` and ``modified``.
    """

    def __init__(
        self, target, name: str, budget: Budget, timeout=(10, 60), size=None, etag=None,
        modified=None,
    ):  # fmt: skip
        super().__init__()
        self.target, self.name, self.budget, self.timeout = target, name, budget, timeout
        self.etag, self.modified = etag, modified
        self.fetched = 0
        self.requests = 0
        self._pos = 0
        self._size = size
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._lock = threading.Lock()
        if self._size is None:  # the first block, and the size from its Content-Range
            self._cache[0] = self._fetch(0, BLOCK, exact=False)

    @property
    def size(self) -> int | None:
        """The file's size, as the server's Content-Range gives it."""
        return self._size

    # ---------------------------------------------------------------- file API

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, b) -> int:
        n = min(len(b), max(0, self._size - self._pos))
        if n <= 0:
            return 0
        data = self._read(self._pos, n)
        b[: len(data)] = data
        self._pos += len(data)
        return len(data)

    # ---------------------------------------------------------------- ranges

    def _read(self, pos: int, n: int) -> bytes:
        if n >= BLOCK:
            return self._fetch(pos, n)
        first, last = pos // BLOCK, (pos + n - 1) // BLOCK
        parts = [self._block(k) for k in range(first, last + 1)]
        data = b"".join(parts)
        start = pos - first * BLOCK
        return data[start : start + n]

    def _block(self, k: int) -> bytes:
        with self._lock:
            if k in self._cache:
                self._cache.move_to_end(k)
                return self._cache[k]
        a = k * BLOCK
        data = self._fetch(a, min(BLOCK, self._size - a))
        with self._lock:
            self._cache[k] = data
            while len(self._cache) > CACHE_BLOCKS:
                self._cache.popitem(last=False)
        return data

    def _fetch(self, pos: int, n: int, exact: bool = True) -> bytes:
        """Bytes ``pos .. pos + n`` from the server, tried again within the budget.

        As for a whole download (:func:`sezlights.download.download`): an expired signed
        address is asked for again, a refusal renews the token once (a second refusal is a
        login error), a failed try waits and tries again until the file's budget is spent.
        """
        from .download import TryFailed

        relogged = False
        while True:
            self.budget.take_try()
            try:
                session, url = self.target.locate(self.timeout)
                rng = {
                    "Range": f"bytes={pos}-{pos + n - 1}",
                    **identity_condition(self.etag, self.modified),
                }
                with session.get(url, headers=rng, stream=True, timeout=self.timeout) as r:
                    if r.status_code == 412:
                        raise ChangedFileError(
                            f"{self.name} changed on the server after its month was listed "
                            "(another ETag or date)"
                        )
                    if self.target.expired(r):
                        raise TryFailed("the signed address expired")
                    if self.target.refused(r):
                        if relogged:
                            raise LoginError(
                                f"the server refuses {self.name} although the login "
                                "succeeded: the account may lack access to this data."
                            )
                        self.target.renew()
                        relogged = True
                        continue
                    if r.status_code == 200:
                        raise NoRangeSupport(url)
                    if r.status_code == 404:
                        raise MissingFileError(
                            f"{self.name} is no longer at {_shown(url)} (HTTP 404); list the "
                            "month again."
                        )
                    if r.status_code != 206:
                        raise TryFailed(describe_status(r.status_code))
                    if self._size is None:
                        total = r.headers.get("Content-Range", "").rsplit("/", 1)[-1]
                        self._size = int(total) if total.isdigit() else None
                    if self.etag is None and self.modified is None:
                        self.etag = r.headers.get("ETag")
                        self.modified = r.headers.get("Last-Modified")
                    data = r.content
                self.requests += 1
                self.fetched += len(data)
                want = n if exact else min(n, (self._size or n) - pos)
                if len(data) != want:
                    raise TryFailed(f"body cut at {len(data)} of {want} bytes")
                return data
            except (TryFailed, requests.RequestException) as exc:
                what = str(exc) if isinstance(exc, TryFailed) else describe_error(exc)
                _wait_or_give_up(self.budget, self.name, "by range", "a ranged read", what)


@contextlib.contextmanager
def opened_hdf5(range_file: RangeFile):
    """h5py over a :class:`RangeFile` (closed with it)."""
    import h5py

    f = h5py.File(range_file, "r")
    try:
        yield f
    finally:
        f.close()
        range_file.close()


def _wait_or_give_up(budget, name: str, how: str, read: str, what: str) -> None:
    """One failed try of a read from the server: note it on the file's budget, then wait
    for the next try, or end with one line when the budget is spent."""
    budget.note(what)
    wait = budget.next_wait()
    if wait is None:
        raise DownloadError(
            f"gave up reading {name} {how} after {budget.n_failures} failed tries "
            f"({budget.limits()}): {budget.summary()}. Run again later; if it persists, "
            "tell the server's operators."
        ) from None
    log.warning("%s: %s failed (%s); again in %.1f s", name, read, what, wait)
    time.sleep(wait)


def needed_blocks(index: dict | None, placed: Window, block_shape) -> np.ndarray:
    """The (row, col) internal blocks of a file placed at ``placed`` on the lattice
    holding some indexed pixel inside it (what a window read fetches)."""
    if index is None or index["length"].size == 0:
        return np.zeros((0, 2), np.int64)
    bh, bw = block_shape
    rows = index["row"].astype(np.int64) - int(placed.row_off)
    c0 = index["col"].astype(np.int64) - int(placed.col_off)
    c1 = c0 + index["length"].astype(np.int64) - 1
    inside = (rows >= 0) & (rows < int(placed.height)) & (c0 >= 0) & (c1 < int(placed.width))
    rows, c0, c1 = rows[inside], c0[inside], c1[inside]
    # every block a run touches: from the block of its first pixel to that of its last
    b0, b1 = c0 // bw, c1 // bw
    n = (b1 - b0 + 1).astype(np.int64)
    brow = np.repeat(rows // bh, n)
    bcol = np.repeat(b0, n) + (np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n))
    return np.unique(np.stack([brow, bcol], axis=1), axis=0)


def runs_of(blocks: np.ndarray) -> int:
    """How many reads of neighbouring blocks in one row of blocks (one request each)."""
    if blocks.size == 0:
        return 0
    same_row = blocks[1:, 0] == blocks[:-1, 0]
    next_col = blocks[1:, 1] == blocks[:-1, 1] + 1
    return int(1 + np.count_nonzero(~(same_row & next_col)))
