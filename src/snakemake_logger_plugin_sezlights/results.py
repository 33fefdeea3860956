"""Where the run's results are: the table, the per-month tables and the report."""

import os
import re
from collections import defaultdict
from pathlib import Path

from .text import LOCAL_STORAGE_PREFIX

TABLE = "results/zonal_stats.csv"
STATS_DIR = "results/stats"
REPORT = "results/report.html"

_MONTH_FILE = re.compile(
    r"^(?P<dir>.*?results/stats/(?P<source>[^/]+)/)(?P<month>\d{4}-\d{2})\.csv$"
)
# top-level folders of the workflow's files: what precedes them in a storage URI is the prefix
_ROOTS = ("results/", "resources/", "logs/", "benchmarks/")


def _months_text(months) -> str:
    months = sorted(set(months))
    if len(months) == 1:
        return f"1 month, {months[0]}"
    return f"{len(months)} months, {months[0]} to {months[-1]}"


def storage_prefix(uris) -> str | None:
    """``s3://bucket/prefix/`` from the storage URIs of the run's outputs."""
    for uri in uris:
        for root in _ROOTS:
            i = uri.find("/" + root)
            if i >= 0:
                return uri[: i + 1]
    return None


def stored_prefixes(local_storage: Path = LOCAL_STORAGE_PREFIX, depth: int = 8) -> list[str]:
    """Storage prefixes an earlier run used here, from the local copies Snakemake keeps.

    Snakemake keeps the logs of storage runs under ``.snakemake/storage/<scheme>/...``
    (``s3://bucket/prefix/logs/x.log`` is ``.snakemake/storage/s3/bucket/prefix/logs/x.log``).
    """
    found = []
    if not local_storage.is_dir():
        return found
    for scheme in sorted(p for p in local_storage.iterdir() if p.is_dir()):
        for root, dirs, _ in os.walk(scheme):
            rel = Path(root).relative_to(scheme)
            if rel.parts and any(d + "/" in _ROOTS for d in dirs):
                found.append(f"{scheme.name}://{rel.as_posix()}/")
                dirs.clear()
            elif len(rel.parts) >= depth:
                dirs.clear()
            else:
                dirs.sort()
    return found


def _local_month_dirs(base: Path) -> list[str]:
    stats = base / STATS_DIR
    found = []
    if not stats.is_dir():
        return found
    for source in sorted(p for p in stats.iterdir() if p.is_dir()):
        months = [p.stem for p in source.glob("*.csv") if re.fullmatch(r"\d{4}-\d{2}", p.stem)]
        if months:
            found.append((source.name, months))
    return found


def result_lines(
    storage_uris=(), show=lambda path: path, report_command: str = f"snakemake --report {REPORT}"
) -> list[str]:
    """The closing lines of a successful run.

    ``storage_uris``: the storage URIs of the outputs of this run's jobs (when it ran
    with a storage provider, the results are there, not on this disk); ``show`` turns a
    path relative to the working directory into the path to print; ``report_command``
    makes the report.
    """
    prefix = storage_prefix(storage_uris)
    if prefix is None and not Path(TABLE).exists():
        # e.g. "Nothing to be done" in a storage run: no job named its outputs
        stored = stored_prefixes()
        prefix = stored[0] if len(stored) == 1 else None
    lines = []
    if prefix:
        lines.append(f"table: {prefix}{TABLE}")
        by_dir = defaultdict(list)
        for uri in storage_uris:
            m = _MONTH_FILE.match(uri)
            if m:
                by_dir[m["dir"]].append(m["month"])
        if by_dir:
            dirs = ", ".join(
                f"{d} ({_months_text(months)} written by this run)"
                for d, months in sorted(by_dir.items())
            )
            lines.append(f"per-month tables: {dirs}")
        else:
            lines.append(f"per-month tables: {prefix}{STATS_DIR}/<source>/<YYYY-MM>.csv")
        lines.append(f"report: {report_command}")
        return lines

    base = Path(".")
    table = base / TABLE
    if table.exists():
        lines.append(f"table: {show(TABLE)}")
    else:
        lines.append(f"table: not made yet ({show(TABLE)} is missing)")
    month_dirs = _local_month_dirs(base)
    if month_dirs:
        dirs = ", ".join(
            f"{show(f'{STATS_DIR}/{source}')}/ ({_months_text(months)})"
            for source, months in month_dirs
        )
        lines.append(f"per-month tables: {dirs}")
    report = base / REPORT
    if report.exists() and (not table.exists() or _mtime(report) >= _mtime(table)):
        lines.append(f"report: {show(REPORT)}")
    elif table.exists():
        lines.append(f"report: {report_command}")
    return lines


def _mtime(path: Path) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0
