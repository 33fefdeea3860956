"""A month's manifest: what a source serves for the zones in one month, and how to read it.

Written by one job only, ``list_month_files`` (``results/manifests/{source}/{month}.json``),
read by the download, statistics, map and report jobs through :class:`Manifest`: one
schema, whatever the source.

- A :class:`Granule` is what covers one tile of the source's grid for one series
  (product and satellite) that month: one remote object holding every band (an EOG
  ``.tgz``, a Black Marble ``.h5``), or one per band (a Light Every Night radiance COG
  and its cloud-free count beside it).
- ``read`` says how: ``download`` (the whole file, once, to ``resources/files/``) or
  ``window`` (only the blocks holding rows some zone needs, straight from the server).
- Each :class:`Part` records the remote file's identity as the server gave it (name,
  stamp, size, ETag, Last-Modified): a republished file gets a new identity, and the
  download and statistics of its month only are made again.
- ``absent``: tiles a series should have that month but the server does not list (their
  pixels count as not observed); ``notes``: what the listing decided and why, said once
  per month (e.g. a layout that fell back to whole files).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .atomic import write_json

READS = ("download", "window")
SCHEMA = 2
# beside a manifest, written by a job that found a file changed since the listing: the
# next run lists that month again (the workflow's listing epoch notices it)
STALE = ".stale"


@dataclass(frozen=True)
class Part:
    """One remote object: ``kind`` is ``file`` (every band inside) or a band kind."""

    kind: str
    name: str
    url: str
    size: int | None = None
    stamp: str | None = None
    etag: str | None = None
    modified: str | None = None

    def identity(self) -> tuple:
        return (self.name, self.stamp, self.size, self.etag, self.modified)


@dataclass(frozen=True)
class Granule:
    tile: str
    product: str
    satellite: str
    read: str
    parts: tuple[Part, ...]
    line: str | None = None  # the processing line, where a source has several (LEN)
    # bytes each way, as the listing estimated them (None: not known)
    bytes_download: int | None = None
    bytes_window: int | None = None

    @property
    def series(self) -> tuple[str, str]:
        return (self.product, self.satellite)

    def part(self, kind: str) -> Part:
        for p in self.parts:
            if p.kind == kind:
                return p
        raise KeyError(f"{self.tile} {self.product} has no {kind} part")


@dataclass
class Manifest:
    source: str
    month: str
    granules: list[Granule]
    # the series the source has that month: [{"product", "satellite"}], even without a file
    series: list[dict] = field(default_factory=list)
    absent: list[dict] = field(default_factory=list)  # [{"product", "satellite", "tile"}]
    listing_urls: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    epoch: str = ""

    # ------------------------------------------------------------------ queries

    def downloads(self) -> list[Part]:
        """The remote files this month downloads whole, in order."""
        return [p for g in self.granules if g.read == "download" for p in g.parts]

    def download_names(self) -> list[str]:
        return [p.name for p in self.downloads()]

    def by_series(self) -> dict[tuple[str, str], list[Granule]]:
        """Granules per (product, satellite), every listed series included (even empty)."""
        out: dict[tuple[str, str], list[Granule]] = {
            (s["product"], s["satellite"]): [] for s in self.series
        }
        for g in self.granules:
            out.setdefault(g.series, []).append(g)
        return out

    def replaced(self, names_before, stamp_of=lambda name: name) -> list[str]:
        """``tile product old-stamp -> new-stamp`` for each downloaded file of this
        manifest whose tile and product had another file among ``names_before`` (the
        month's earlier downloads): republished. ``stamp_of(name)``: a name's stamp."""
        before = {}
        for name in names_before:
            for g in self.granules:
                if g.read == "download" and g.tile in name and g.product in name:
                    before.setdefault((g.tile, g.product), []).append(name)
        out = []
        for g in self.granules:
            if g.read != "download":
                continue
            for p in g.parts:
                olds = [n for n in before.get((g.tile, g.product), []) if n != p.name]
                if olds and p.name not in before.get((g.tile, g.product), []):
                    out.append(f"{g.tile} {g.product} {stamp_of(olds[0])} -> {p.stamp}")
        return out

    def identity(self) -> list[tuple]:
        """What makes the month's inputs what they are: every part's identity."""
        return [(g.tile, g.read, *p.identity()) for g in self.granules for p in g.parts]

    def digest(self) -> str:
        """What the manifest says, but the epoch it was listed under: a re-listing that
        finds nothing new gives the same digest (a params value for the jobs that read
        manifests: the listing rewrites the file every time)."""
        d = self.to_dict()
        d.pop("epoch", None)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]

    # ------------------------------------------------------------------ files

    def to_dict(self) -> dict:
        d = asdict(self)
        d["schema"] = SCHEMA
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Manifest:
        if d.get("schema") != SCHEMA:
            raise ValueError(
                f"manifest schema {d.get('schema')!r}, not {SCHEMA}: list the month again"
            )
        granules = [
            Granule(**{**g, "parts": tuple(Part(**p) for p in g["parts"])}) for g in d["granules"]
        ]
        keys = ("series", "absent", "listing_urls", "notes", "epoch")
        return cls(d["source"], d["month"], granules, **{k: d[k] for k in keys if k in d})

    def write(self, path: str | Path) -> None:
        for g in self.granules:
            if g.read not in READS:
                raise ValueError(f"granule {g.tile}: read must be one of {READS}")
        write_json(path, self.to_dict())

    @classmethod
    def read(cls, path: str | Path) -> Manifest:
        with open(path, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))
