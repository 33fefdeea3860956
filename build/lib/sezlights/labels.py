"""A file name per zone id, and the report label of each figure: the id as written.

Zone ids may hold any character (``SEZ/North``, ``Zürich-Ω``, `` padded ``, ``A{b}``).
Figures are named by :func:`file_stem`, a readable slug plus a hash of the exact id,
so two ids never share a file; the report sees only file names, so each figure
folder carries a ``zones.json`` (:func:`write_stems`) from which
:func:`figure_labels` gives Snakemake's report the id exactly as written.
"""

from __future__ import annotations

import hashlib
import json
import numbers
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from .atomic import write_json

_STEM_SLUG_CHARS = 40
_STEM_HASH_CHARS = 8


def file_stem(zone_id: str) -> str:
    """A file name stem for a zone id: readable, ASCII, and unique per exact id.

    The stem is an ASCII slug of the id (accents dropped, every run of other
    characters replaced by ``_``, at most 40 characters; ``zone`` if nothing is
    left) plus ``-`` and the first 8 hex digits of the SHA-256 of the id's exact
    UTF-8 bytes, e.g. ``SEZ/North`` -> ``SEZ_North-<hash>``. So ``SEZ/North`` and
    ``SEZ North``, or ``Zürich-Ω`` and ``Zurich-O``, share a slug but never a stem;
    ids that differ only in case also differ in their hash (case-insensitive file
    systems are safe). Figures are written as ``<stem>.png``.
    """
    zone_id = str(zone_id)
    folded = unicodedata.normalize("NFKD", zone_id).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", folded).strip("._-")
    slug = slug[:_STEM_SLUG_CHARS].rstrip("._-") or "zone"
    digest = hashlib.sha256(zone_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{slug}-{digest[:_STEM_HASH_CHARS]}"


def file_stems(zone_ids: Iterable[str]) -> dict[str, str]:
    """:func:`file_stem` of each id, checked to be unique (also ignoring case).

    Two ids sharing a stem would need the same slug and the same 32-bit hash;
    should it ever happen, this raises rather than overwrite a figure.
    """
    stems: dict[str, str] = {}
    seen: dict[str, str] = {}
    for zone_id in zone_ids:
        zone_id = str(zone_id)
        stem = file_stem(zone_id)
        other = seen.setdefault(stem.lower(), zone_id)
        if other != zone_id:
            raise RuntimeError(f"zone ids {other!r} and {zone_id!r} share file name stem {stem!r}")
        stems[zone_id] = stem
    return stems


STEMS_FILE = "zones.json"  # next to the figures: {file stem: zone id}


def write_stems(outdir: str | Path, zone_ids: Iterable[str]) -> Path:
    """Write ``outdir/zones.json``, ``{file stem: zone id}`` of the figures in
    ``outdir``, for :func:`figure_labels` (the report sees only file names)."""
    dest = Path(outdir) / STEMS_FILE
    write_json(dest, {stem: z for z, stem in file_stems(zone_ids).items()})
    return dest


class ExactLabel(numbers.Number):
    """A report label shown exactly as written.

    ``snakemake --report`` (9.x) fills in wildcards in every label that is a string,
    so an id such as ``A{b}`` would end the report with a WildcardError (and there
    is no escape: ``{{`` is not one). A label that is a number but not an int or
    float it shows as ``str(label)``, untouched; this is one.
    """

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = str(text)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"ExactLabel({self.text!r})"

    def __eq__(self, other) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(self.text)


def label(text: str) -> str | ExactLabel:
    """``text`` as a report label that shows as it is: the text itself, or an
    :class:`ExactLabel` when it holds a brace (which Snakemake would read as a
    wildcard)."""
    text = str(text)
    return ExactLabel(text) if "{" in text or "}" in text else text


def figure_labels(stem: str, outdir: str | Path, **fixed) -> dict:
    """The report labels of the figure ``outdir/<stem>.png``: ``zone``, its zone id
    as written (from :func:`write_stems`'s ``zones.json``; the stem when the id is
    not there), then ``fixed`` (strings, in which Snakemake fills in wildcards such
    as ``{source}``)."""
    try:
        stems = json.loads((Path(outdir) / STEMS_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        stems = {}
    return {"zone": label(stems.get(stem, stem)), **fixed}
