"""Month parsing and ranges.

Months are written ``YYYY-MM`` everywhere in paths and tables. Config accepts
``YYYY-MM`` or ``YYYYMM`` (the original tool's ``spanStart``/``spanEnd`` form).
"""

from __future__ import annotations

import re

from .errors import ConfigError

FIRST_MONTH = "2012-01"  # no VIIRS monthly product starts earlier (each source checks its own)
_MONTH_RE = re.compile(r"^(\d{4})-?(\d{2})$")


def parse_month(value, what: str = "month") -> str:
    """Normalise ``YYYY-MM`` / ``YYYYMM`` (str or int) to ``YYYY-MM``."""
    text = str(value).strip()
    m = _MONTH_RE.match(text)
    if not m:
        raise ConfigError(
            f"{what}: {value!r} is not a month; write it as YYYY-MM (e.g. 2019-01) or YYYYMM."
        )
    year, month = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12:
        raise ConfigError(f"{what}: {value!r} has month {month:02d}; months run 01 to 12.")
    return f"{year:04d}-{month:02d}"


def month_index(month: str) -> int:
    year, mm = month.split("-")
    return int(year) * 12 + int(mm) - 1


def from_index(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_range(start: str, end: str) -> list[str]:
    """All months from ``start`` to ``end`` inclusive, validated."""
    start = parse_month(start, "months.start")
    end = parse_month(end, "months.end")
    if month_index(start) < month_index(FIRST_MONTH):
        raise ConfigError(
            f"months.start: {start} is before {FIRST_MONTH}, before any VIIRS monthly product; "
            f"set months.start to {FIRST_MONTH} or later."
        )
    if month_index(start) > month_index(end):
        raise ConfigError(f"months: start {start} is after end {end}; swap them or fix the range.")
    return [from_index(i) for i in range(month_index(start), month_index(end) + 1)]


def month_bounds(month: str) -> tuple[str, str]:
    """First and last day as ``YYYYMMDD`` (the ``{start}-{end}`` part of EOG names)."""
    import calendar

    year, mm = (int(p) for p in month.split("-"))
    last = calendar.monthrange(year, mm)[1]
    return f"{year:04d}{mm:02d}01", f"{year:04d}{mm:02d}{last:02d}"


def compact(month: str) -> str:
    """``2019-01`` -> ``201901`` (EOG directory names)."""
    return month.replace("-", "")
