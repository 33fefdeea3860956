"""Data sources: each a plug-in that owns every fact about one source.

A source knows its URLs and file names, its products and the months each covers, how to
log in, how to list a month (:class:`~sezlights.manifest.Manifest`), how to check and
read its files, its grid, and how people call it (label, short label, colour, order).
The workflow and the shared stages (pixel index, gather, statistics, table, report)
use only :class:`Source`. :data:`REGISTRY` names every source, one line each.

A source is made from its own settings (its config block, e.g. ``eog:``) and the few
run-wide ones it needs (:class:`Shared`), never from the whole config.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import requests

from ..errors import ConfigError, LoginError, MissingFileError, UserError
from ..grid import TileSet, make_window
from ..http import Budget, describe_error, describe_status, make_session
from ..manifest import Granule, Manifest, Part
from ..months import from_index, month_index

if TYPE_CHECKING:
    from rasterio.windows import Window

# name: "module:class". Adding a source: its module, one line here, its block in the
# config schema, and its stand-in for the tests.
REGISTRY = {
    "eog": "sezlights.sources.eog:EOG",
    "blackmarble": "sezlights.sources.blackmarble:BlackMarble",
    "len": "sezlights.sources.lighteverynight:LightEveryNight",
}
KINDS = ("radiance", "coverage")
MAX_SKIPPED = 12  # `end: latest` looks back this many months at most, per source and for all


@dataclass(frozen=True)
class Shared:
    """The run-wide settings a source needs: how to fetch, and what counts as observed."""

    download: Mapping = field(default_factory=dict)
    min_cloud_free: float = 1

    @classmethod
    def from_config(cls, config: Mapping) -> Shared:
        return cls(
            download=dict(config.get("download", {})),
            min_cloud_free=float(config.get("stats", {}).get("min_cloud_free", 1)),
        )

    def budget(self) -> Budget:
        dl = self.download
        return Budget(dl.get("retry_budget", 300), dl.get("attempts", 20))

    @property
    def timeout(self) -> tuple[float, float]:
        return (10, float(self.download.get("timeout", 60)))


@dataclass(frozen=True)
class Series:
    """A product and satellite a source serves, and the months it covers (inclusive)."""

    product: str
    satellite: str
    first: str
    last: str | None = None  # None: still produced

    def covers(self, month: str) -> bool:
        i = month_index(month)
        return i >= month_index(self.first) and (self.last is None or i <= month_index(self.last))


@dataclass(frozen=True)
class Grid:
    """A lattice and its tiles, by the key that names its pixel index
    (``resources/index/{key}.npz``): products on one grid share one index."""

    key: str
    tiles: TileSet


@dataclass
class Band:
    """One band of one granule on the source's lattice.

    Streamed bands give ``rows(wanted)``: ``(row, values)`` over the sorted tile-local
    rows ``wanted``, each row whole. Random-access bands give ``block_shape`` and
    ``read(window)`` (a window relative to ``window``'s corner, aligned to blocks), so
    only the blocks holding needed pixels are read. Radiance is float32 with NaN where
    the source marks a pixel unobserved (fill, nodata, rejected quality); coverage is
    the count of cloud-free observations (float32).
    """

    kind: str
    window: Window
    rows: Callable | None = None
    block_shape: tuple[int, int] | None = None
    read: Callable[[Window], np.ndarray] | None = None

    STRIP = 256  # rows read at once from a random-access band

    def regions(self, jobs: list[tuple]) -> Iterator[tuple[object, int, np.ndarray]]:
        """For jobs ``(key, r0, r1, c0, c1)`` (lattice rows and columns, inside this
        band's window): ``(key, row - r0, values[c0:c1])`` for every row of every job.

        A streamed band is read once, front to back, over the union of the jobs' rows;
        a random-access band job by job, in strips of rows, only the jobs' columns.
        """
        wr0, wc0 = int(self.window.row_off), int(self.window.col_off)
        if self.read is not None:
            for key, r0, r1, c0, c1 in jobs:
                for y in range(r0, r1, self.STRIP):
                    y1 = min(r1, y + self.STRIP)
                    arr = self.read(make_window(c0 - wc0, y - wr0, c1 - c0, y1 - y))
                    for i in range(y1 - y):
                        yield key, y + i - r0, arr[i]
            return
        if not jobs:
            return
        wanted = np.unique(np.concatenate([np.arange(r0, r1) for _, r0, r1, _, _ in jobs]))
        for row, line in self.rows(wanted - wr0):
            g = row + wr0
            for key, r0, r1, c0, c1 in jobs:
                if r0 <= g < r1:
                    yield key, g - r0, line[c0 - wc0 : c1 - wc0]


def tiff_band(kind: str, tif, lat, nodata: bool = True, below: float | None = None) -> Band:
    """A random-access band over a GeoTIFF (a :class:`sezlights.remote.RemoteTiff` or
    ``LocalTiff``) placed on the lattice ``lat``; a global file larger than the lattice
    (EOG's 86401 x 33601 at 15") is clipped to it.

    Values are float32. ``nodata``: the file's nodata tag, if it has one, is NaN (no
    value); ``below``: so is radiance below it (a nodata value written without a tag);
    values that are not finite are NaN anyway.
    """
    placed = lat.placement(tif.ds.transform, tif.ds.shape, tif.name)
    window = lat.clip(placed)
    dr, dc = int(window.row_off - placed.row_off), int(window.col_off - placed.col_off)
    tag = tif.ds.nodata if nodata else None

    def read(w: Window) -> np.ndarray:
        arr = tif.read(make_window(w.col_off + dc, w.row_off + dr, w.width, w.height))
        out = arr.astype(np.float32)
        bad = ~np.isfinite(out)
        if tag is not None:
            bad |= arr == tag
        if kind == "radiance" and below is not None:
            bad |= out < below
        out[bad] = np.nan
        return out

    return Band(kind, window, block_shape=tif.block_shape, read=read)


@contextlib.contextmanager
def tiff_bands(granule: Granule, files, kinds, lat, remote, **band):
    """A granule of one single-band GeoTIFF per kind, as bands on the lattice ``lat``:
    each from ``files`` (the month's downloads) when the granule is downloaded, else
    ``remote(part)`` (read by window); ``band``: :func:`tiff_band`'s value rules."""
    from ..remote import LocalTiff

    with contextlib.ExitStack() as stack:
        bands = []
        for kind in kinds:
            part = granule.part(kind)
            if granule.read == "download":
                tif = LocalTiff(Path(files) / part.name, part.name)
            else:
                tif = remote(part)
            stack.enter_context(tif)
            bands.append(tiff_band(kind, tif, lat, **band))
        yield bands


class Source(ABC):
    """What the workflow needs from a data source (see the module docstring)."""

    name: str  # the {source} wildcard and the table's `source` column
    label: str  # "EOG VIIRS DNB monthly composites v10"
    short_label: str  # "EOG": in legends and column headers
    colour: str  # in every figure
    order: int  # sources are listed in this order
    download_resource: str  # the Snakemake resource that caps downloads from its server
    # granules a statistics job reads at once: its rule's threads (compute_zone_stats)
    stats_threads: int = 2
    signature: bytes | tuple[bytes, ...] = b""  # what a downloaded file's first bytes must be
    needs_login: bool = False  # reading its files needs credentials
    # which sources statistics jobs may read by window ("all", "anonymous" or "none"):
    # set by the listing job from where jobs run (workflow/rules/common.smk)
    window_reads: str = "all"

    def __init__(self, settings: Mapping, shared: Shared | None = None):
        self.settings = settings
        self.shared = shared or Shared()

    # ------------------------------------------------------------------ facts

    @property
    @abstractmethod
    def grid(self) -> Grid: ...

    @property
    def tiles(self) -> TileSet:
        return self.grid.tiles

    @abstractmethod
    def series(self) -> list[Series]:
        """The configured series (products and satellites) and their months."""

    def series_in(self, month: str) -> list[Series]:
        return [s for s in self.series() if s.covers(month)]

    @property
    def first_month(self) -> str:
        return min((s.first for s in self.series()), key=month_index)

    @property
    def last_month(self) -> str | None:
        lasts = [s.last for s in self.series()]
        return None if any(x is None for x in lasts) else max(lasts, key=month_index)

    def product_label(self) -> str:
        return self.label

    def check_months(self, months: list[str]) -> None:
        """A config error unless every month is covered by some configured series."""
        if not months:
            return
        first, last = self.first_month, self.last_month
        if month_index(months[0]) < month_index(first):
            raise ConfigError(
                f"months.start: {months[0]} is before {first}, the first month of "
                f"{self.product_label()}; set months.start to {first} or later."
            )
        if last is not None and month_index(months[-1]) > month_index(last):
            raise ConfigError(
                f"months.end: {months[-1]} is after {last}, the last month of "
                f"{self.product_label()}{self.successor_hint()}."
            )
        gaps = [m for m in months if not self.series_in(m)]
        if gaps:
            raise ConfigError(
                f"{self.name}: no configured product covers {gaps[0]}"
                f"{' (and ' + str(len(gaps) - 1) + ' more months)' if len(gaps) > 1 else ''}; "
                "add a product that does, or change the month range."
            )

    def successor_hint(self) -> str:
        """What to use after the last month (a source with a successor product says)."""
        return "; set months.end to that month or earlier"

    def provenance(self) -> dict:
        return {"source": self.name, "label": self.label}

    # ------------------------------------------------------------------ login

    def session(self, env: Mapping[str, str] | None = None) -> requests.Session:
        """A session for this source's server (anonymous unless the source says)."""
        return make_session()

    def may_read_by_window(self) -> str | None:
        """None if the statistics jobs may read this source by window; else why not."""
        if self.window_reads == "none":
            return "the jobs' machines may not reach the internet (download.local: true)"
        if self.window_reads == "anonymous" and self.needs_login:
            return "the jobs run where no credential may go (download.local: auto)"
        return None

    def credentials(self, env: Mapping[str, str] | None = None) -> str:
        """Which credentials a run would use, in words (no secret): said at the start."""
        return "no login needed"

    def check_login(self, env: Mapping[str, str] | None = None, month: str | None = None) -> None:
        """Raise LoginError now if the credentials cannot work (before any job). ``month``:
        one the run lists, for a source that must list a month to try its login on."""
        self.session(env)

    @abstractmethod
    def is_login_page(self, response: requests.Response) -> bool: ...

    # ------------------------------------------------------------------ listings

    @abstractmethod
    def list_month(
        self,
        session: requests.Session,
        month: str,
        needed: list[str],
        epoch: str = "",
        index: dict | None = None,
    ) -> Manifest:
        """The month's manifest for the tiles ``needed`` (those holding zone pixels).
        ``index`` (the pixel index, when the listing decides how to read) lets a source
        count the bytes each way of reading would cost.

        Raises MissingFileError when the month is not (completely) published.
        """

    def candidate_months(self, session: requests.Session, first: str) -> Iterator[str]:
        """Months that may be the newest published, newest first (from this month back)."""
        today = dt.datetime.now(dt.UTC)
        i = month_index(f"{today.year:04d}-{today.month:02d}")
        last = self.last_month
        if last is not None:
            i = min(i, month_index(last))
        while i >= month_index(first):
            yield from_index(i)
            i -= 1

    def complete(self, manifest: Manifest, needed: list[str]) -> str | None:
        """Why ``manifest`` is not a complete month for ``needed`` (None: it is)."""
        if needed and not manifest.granules:
            return "none of the zones' tiles is listed"
        return None

    def latest_month(
        self, session: requests.Session, needed: list[str], first: str
    ) -> tuple[str, list[str]]:
        """The newest month, not before ``first``, listing every needed file (each series
        of that month complete), and one line per newer month skipped, saying why. Gives
        up after :data:`MAX_SKIPPED` months."""
        first = max(first, self.first_month, key=month_index)
        skipped: list[str] = []
        for month in self.candidate_months(session, first):
            try:
                why = self.complete(self.list_month(session, month, needed), needed)
            except MissingFileError as exc:
                why = str(exc).split("; ")[0]
            if why is None:
                return month, skipped
            skipped.append(f"skipped {month}: {why}")
            if len(skipped) >= MAX_SKIPPED:
                break
        raise UserError(
            f"months.end latest: {self.name} lists no month from {first} on with every file the "
            f"zones need (looked at {len(skipped)} month(s)); set months.end to a month instead "
            "of latest; " + ("; ".join(skipped[:3]) or "nothing is listed")
        )

    def fetch_listing(self, session: requests.Session, url: str, setting: str) -> str | None:
        """The text of the listing at ``url``, or None if there is none (404).

        A login page, or 401/403, gets one renewed token (an expired one) and one more
        try; ``setting`` is the config key to check when the server cannot be reached.
        The login is looked for first: a redirect to the login that ends in a 404 (a
        realm that moved answers "Realm does not exist" with 404) is a login failure,
        never a folder that is not published.
        """
        for renewed in (False, True):
            try:
                r = session.get(url, timeout=self.shared.timeout)
            except requests.RequestException as exc:
                raise UserError(
                    f"could not list {url} ({describe_error(exc)}); check {setting} and the "
                    "network."
                ) from None
            if r.status_code in (401, 403) or self.is_login_page(r):
                if renewed or not hasattr(session, "renew"):
                    raise LoginError(
                        f"{self.product_label()}: the server sent its login page for the listing "
                        f"{url} although the login succeeded; check that your account has "
                        "access to this data."
                    )
                session.renew()
                continue
            if r.status_code == 404:
                return None
            if not r.ok:
                raise UserError(
                    f"listing {url} failed: the server answered {describe_status(r.status_code)}; "
                    "try again later."
                )
            return r.text
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------ files

    def stamp_of(self, name: str) -> str:
        """The creation stamp in a file name of this source (the name, if it has none)."""
        return name

    def verify(self, path: Path) -> None:  # noqa: B027 - a source without files checks none
        """Raise CorruptFileError unless ``path`` is a whole, readable file of this source."""

    def signature_of(self, part: Part) -> bytes | tuple[bytes, ...]:
        """What the first bytes of ``part`` must be (any one of a tuple)."""
        return self.signature

    def target(self, session: requests.Session, part: Part):
        """Where a download of ``part`` GETs its bytes (:class:`sezlights.download.Target`)."""
        from ..download import Target

        return Target(session, part.url, self.is_login_page)

    def download(self, session, part: Part, dest: Path, progress=None, budget=None) -> Path:
        """Download one whole file (resumable, verified, atomic) with a session of its own
        logged in as ``session``, under one retry budget: see :mod:`sezlights.download`."""
        from ..download import download
        from ..http import child_session

        budget = budget or self.shared.budget()
        return download(
            self.target(child_session(session, budget), part),
            dest,
            verify=self.verify,
            budget=budget,
            signature=self.signature_of(part),
            timeout=self.shared.timeout,
            progress=progress,
        )

    @abstractmethod
    def open(
        self,
        granule: Granule,
        files: Path | None,
        session: requests.Session | None = None,
        kinds=KINDS,
        scratch: Path | None = None,
    ) -> contextlib.AbstractContextManager[list[Band]]:
        """The granule's bands, from ``files`` (the month's downloads) or, for a granule
        read by window, from the server through ``session``."""


def configured(config: Mapping) -> list[str]:
    """The sources a config asks for (``sources``), in the order sources are listed."""
    names = config.get("sources", ["eog"])
    names = [names] if isinstance(names, str) else list(dict.fromkeys(names))
    return sorted(names, key=lambda n: (source_class(n).order, n))


def source_class(name: str) -> type[Source]:
    try:
        module, cls = REGISTRY[name].split(":")
    except KeyError:
        raise ConfigError(
            f"sources: unknown source {name!r}; use {', '.join(sorted(REGISTRY))}."
        ) from None
    return getattr(importlib.import_module(module), cls)


def make(name: str, settings: Mapping, shared: Shared | None = None) -> Source:
    """A source from its own settings (its config block) and the shared ones."""
    return source_class(name)(settings, shared)


def get(name: str, config: Mapping) -> Source:
    """A source from a whole (validated) config: its block and the shared settings."""
    return make(name, config.get(name, {}), Shared.from_config(config))


def env_or(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env
