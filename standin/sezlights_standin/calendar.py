"""Months as the stand-ins count them (``YYYY-MM``), independent of the pipeline's code."""

from __future__ import annotations

import calendar
import datetime as dt


def month_index(month: str) -> int:
    year, mm = month.split("-")
    return int(year) * 12 + int(mm) - 1


def from_index(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def parse_month(value) -> str:
    text = str(value).strip().replace("-", "")
    if len(text) != 6 or not text.isdigit() or not 1 <= int(text[4:]) <= 12:
        raise ValueError(f"{value!r} is not a month (YYYY-MM)")
    return f"{text[:4]}-{text[4:]}"


def month_range(start: str, end: str) -> list[str]:
    a, b = month_index(parse_month(start)), month_index(parse_month(end))
    return [from_index(i) for i in range(a, b + 1)]


def month_bounds(month: str) -> tuple[str, str]:
    """First and last day as ``YYYYMMDD``."""
    year, mm = (int(p) for p in month.split("-"))
    return f"{year:04d}{mm:02d}01", f"{year:04d}{mm:02d}{calendar.monthrange(year, mm)[1]:02d}"


def compact(month: str) -> str:
    return month.replace("-", "")


def day_of_year(month: str) -> str:
    year, mm = (int(p) for p in month.split("-"))
    return f"{dt.date(year, mm, 1).timetuple().tm_yday:03d}"
