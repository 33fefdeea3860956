"""The table's series as the report names and draws them: a source, or one satellite of it.

A series is a source's rows for one satellite (``blackmarble`` ``npp`` and ``j01`` overlap
for eight years). A source whose rows in the table are all one satellite is one series
named after the source (``eog``); a source with several has one per satellite
(``blackmarble/npp``, ``blackmarble/j01``), drawn in the source's colour with a line
style per satellite. Labels, colours and the order come from the source plug-ins
(:mod:`sezlights.sources`), so nothing here names a source.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

SATELLITES = {"npp": "Suomi NPP", "j01": "NOAA-20", "j02": "NOAA-21"}
SATELLITE_ORDER = ("npp", "j01", "j02")
LINESTYLES = ("-", "--", ":", "-.")
_FALLBACK_COLOURS = ("#2e7d32", "#6a1b9a", "#00838f", "#8d6e63")


def _facts(source: str):
    from .sources import REGISTRY, source_class

    if source in REGISTRY:
        return source_class(source)
    return None


def source_label(source: str) -> str:
    cls = _facts(source)
    return cls.short_label if cls else source


def source_colour(source: str) -> str:
    cls = _facts(source)
    if cls:
        return cls.colour
    return _FALLBACK_COLOURS[sum(map(ord, source)) % len(_FALLBACK_COLOURS)]


def source_order(source: str) -> tuple[int, str]:
    cls = _facts(source)
    return (cls.order if cls else 99, source)


def satellite_label(satellite: str) -> str:
    return SATELLITES.get(satellite, satellite)


def satellite_order(satellite: str) -> tuple[int, str]:
    s = str(satellite)
    return (SATELLITE_ORDER.index(s) if s in SATELLITE_ORDER else 9, s)


def sources_in(table: pd.DataFrame) -> list[str]:
    """The table's sources, in the report's order."""
    return sorted(set(table["source"].astype(str)), key=source_order)


def keys(table: pd.DataFrame) -> pd.Series:
    """Each row's series: ``source``, or ``source/satellite`` for a source with rows of
    several satellites in ``table``."""
    src = table["source"].astype(str)
    sat = table["satellite"].astype(str) if "satellite" in table else pd.Series("", table.index)
    several = sat.groupby(src).transform("nunique") > 1
    return src.where(~several, src + "/" + sat)


def ordered(table: pd.DataFrame) -> list[str]:
    """The table's series, in the report's order (sources, then satellites)."""

    def order(key: str):
        source, _, satellite = key.partition("/")
        return (source_order(source), satellite_order(satellite))

    return sorted(set(keys(table)), key=order)


def label(key: str, keys_shown: Sequence[str] = ()) -> str:
    source, _, satellite = key.partition("/")
    return (
        f"{source_label(source)} {satellite_label(satellite)}"
        if satellite
        else source_label(source)
    )


def colour(key: str) -> str:
    return source_colour(key.partition("/")[0])


def linestyle(key: str, keys_shown: Sequence[str]) -> str:
    """The line style of a satellite among its source's series (solid for the first)."""
    source, _, satellite = key.partition("/")
    mine = sorted(
        (k.partition("/")[2] for k in keys_shown if k.partition("/")[0] == source),
        key=satellite_order,
    )
    if not satellite or satellite not in mine:
        return LINESTYLES[0]
    return LINESTYLES[mine.index(satellite) % len(LINESTYLES)]
