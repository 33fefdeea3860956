"""Data sources: each module here owns every fact about one source.

A source knows its URL layout, file names, products and their first months, how to
log in, how to check a downloaded file, how to read its bands, and its grid (a
:class:`~sezlights.grid.TileSet` on a :class:`~sezlights.grid.Lattice`). The
workflow's rules and the shared stages (pixel index, gather, statistics, table,
report) use only the small interface of :class:`Source`:

- :meth:`Source.list_month`: the month's needed files as a manifest;
- :meth:`Source.latest_month`: the newest month whose needed files are all listed;
- :meth:`Source.session` and :meth:`Source.download`: fetch one file;
- :meth:`Source.bands`: iterate the bands of one file, row by row.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import requests
from rasterio.windows import Window

from ..errors import ConfigError, LoginError, UserError
from ..grid import TileSet
from ..http import Budget, describe_error, describe_status
from ..months import month_index

KINDS = ("radiance", "coverage")
MAX_SKIPPED = 12  # `end: latest` looks back this many months at most, per source and for all


@dataclass
class Band:
    """One band of one file: which kind, where it lies on the source's lattice, and
    ``rows(wanted)``, an iterator of ``(row, values)`` over the sorted tile-local row
    indices ``wanted`` (radiance as float32 with NaN where the source marks a pixel
    unobserved — fill, rejected quality —; coverage as the count of cloud-free
    observations)."""

    kind: str
    window: Window
    rows: object  # Callable[[np.ndarray], Iterator[tuple[int, np.ndarray]]]


class Source(ABC):
    """What the workflow needs from a data source (see the module docstring)."""

    name: str  # "eog", "blackmarble": the {source} wildcard and the table's `source` column
    label: str  # for people: "EOG VIIRS DNB monthly composites v10"
    resource: str  # the Snakemake resource that caps concurrent downloads from it
    signature: bytes  # what a downloaded file's first bytes must be

    def __init__(self, config: Mapping):
        self.config = config

    @property
    @abstractmethod
    def tiles(self) -> TileSet: ...

    @property
    @abstractmethod
    def first_month(self) -> str: ...

    def check_months(self, months: list[str]) -> None:
        first = self.first_month
        if months and month_index(months[0]) < month_index(first):
            raise ConfigError(
                f"months.start: {months[0]} is before {first}, the first month of "
                f"{self.product_label()}; set months.start to {first} or later."
            )

    def product_label(self) -> str:
        return self.label

    @abstractmethod
    def session(self, env: Mapping[str, str] | None = None) -> requests.Session:
        """An authenticated session whose ``renew()`` gets a fresh token (or explains)."""

    @abstractmethod
    def is_login_page(self, response: requests.Response) -> bool: ...

    @abstractmethod
    def list_month(self, session: requests.Session, month: str, needed: list[str]) -> dict:
        """The month's manifest: the needed tiles' files (name, URL, stamp, listed size)."""

    @abstractmethod
    def latest_month(
        self, session: requests.Session, needed: list[str], first: str
    ) -> tuple[str, list[str]]:
        """The newest month (not before ``first``) whose needed files are all listed,
        and one line for each newer month skipped, saying why."""

    @abstractmethod
    def verify(self, path: Path) -> None:
        """Raise CorruptFileError unless ``path`` is a whole, readable file of this source."""

    @abstractmethod
    def bands(self, path: Path, kinds=KINDS, scratch: Path | None = None) -> Iterator[Band]: ...

    @abstractmethod
    def tile_of(self, file_name: str) -> str: ...

    def download(self, session, entry: dict, dest: Path, progress_path=None) -> Path:
        from ..download import download

        dl = self.config["download"]
        return download(
            session,
            entry["url"],
            dest,
            verify=self.verify,
            is_login_page=self.is_login_page,
            budget=Budget(dl["retry_budget"], dl["attempts"]),
            signature=self.signature,
            timeout=(10, dl["timeout"]),
            progress_path=progress_path,
        )

    def provenance(self) -> dict:
        return {"source": self.name, "label": self.label}

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
                r = session.get(url, timeout=(10, 60))
            except requests.RequestException as exc:
                raise UserError(
                    f"could not list {url} ({describe_error(exc)}); check {setting} and the "
                    "network."
                ) from None
            if r.status_code in (401, 403) or self.is_login_page(r):
                if renewed:
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


def configured(config: Mapping) -> list[str]:
    """The sources a config asks for, in order (``source.name``: a name or a list)."""
    names = config.get("source", {}).get("name", "eog")
    names = [names] if isinstance(names, str) else list(names)
    return list(dict.fromkeys(names))


def get(name: str, config: Mapping) -> Source:
    if name == "eog":
        from .eog import EOG

        return EOG(config)
    if name == "blackmarble":
        from .blackmarble import BlackMarble

        return BlackMarble(config)
    raise ConfigError(f"source.name: unknown source {name!r}; use eog or blackmarble.")


def env_or(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def runs(wanted: np.ndarray, gap: int = 1) -> list[tuple[int, int]]:
    """Sorted row indices as [start, stop) runs (rows closer than ``gap`` joined)."""
    if wanted.size == 0:
        return []
    breaks = np.nonzero(np.diff(wanted) > gap)[0] + 1
    return [(int(r[0]), int(r[-1]) + 1) for r in np.split(wanted, breaks)]
