"""Where the run's results are: read from the one file the workflow writes about them.

The workflow's ``record_where_results_are`` job writes :data:`RUN_FILE`
(``results/run.json``): the table and its other forms, the per-month tables (a pattern,
with the run's sources and months), and where ``snakemake --report`` puts the report.
Nothing here knows the workflow's paths but that file's. In a storage run the file is in
the bucket: the job also writes it to its log (:data:`RUN_LOG`), which Snakemake keeps on
this machine (``.snakemake/storage/<scheme>/<bucket>/<prefix>/logs/...``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .text import LOCAL_STORAGE_PREFIX

RUN_FILE = "results/run.json"
RUN_LOG = "logs/record_where_results_are.log"  # the same JSON, kept locally in storage runs


def _months_text(months) -> str:
    months = sorted(set(months))
    if len(months) == 1:
        return f"1 month, {months[0]}"
    return f"{len(months)} months, {months[0]} to {months[-1]}"


def storage_prefix(uris) -> str | None:
    """``s3://bucket/prefix/`` from the storage URI of the run file among the outputs."""
    for uri in uris:
        if uri.endswith("/" + RUN_FILE):
            return uri[: -len(RUN_FILE)]
    return None


def stored_prefixes(local_storage: Path = LOCAL_STORAGE_PREFIX) -> list[str]:
    """Storage prefixes an earlier run used here, from the run file's log that Snakemake
    keeps (``s3://bucket/prefix/logs/x.log`` is ``.snakemake/storage/s3/bucket/prefix/logs/
    x.log``)."""
    found = []
    if not local_storage.is_dir():
        return found
    for copy in sorted(local_storage.glob(f"*/**/{RUN_LOG}")):
        rel = copy.relative_to(local_storage)
        scheme, rest = rel.parts[0], Path(*rel.parts[1:]).as_posix()
        found.append(f"{scheme}://{rest[: -len(RUN_LOG)]}")
    return found


def read_run(prefix: str | None = None) -> dict | None:
    """The run file (local), or in a storage run under ``prefix`` its kept log."""
    paths = [Path(RUN_FILE), Path(RUN_LOG)]
    if prefix:
        scheme, rest = prefix.split("://", 1)
        base = LOCAL_STORAGE_PREFIX / scheme / rest
        paths = [base / RUN_FILE, base / RUN_LOG]
    for path in paths:
        try:
            run = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(run, dict):
            return run
    return None


def result_lines(
    storage_uris=(),
    show=lambda path: path,
    report_command: str = "snakemake --report",
    report_next: str | None = None,
) -> list[str]:
    """The closing lines of a successful run, from the run file.

    ``storage_uris``: the storage URIs of the outputs of this run's jobs (in a storage
    run the results are there, not on this disk); ``show`` turns a path relative to the
    working directory into the path to print; ``report_command`` makes the report;
    ``report_next``: who builds it right after this run (``make demo``), so the line
    says where it will be instead of the command.
    """
    prefix = storage_prefix(storage_uris)
    if prefix is None and not Path(RUN_FILE).exists():
        stored = stored_prefixes()
        prefix = stored[0] if len(stored) == 1 else None
    run = read_run(prefix)
    if run is None:
        return ["results: not made yet (this run ended before its table)"]
    report = run.get("report", "")
    command = f"{report_command} {report}".strip()
    lines = []
    table = run.get("table", "")
    others = [run[k] for k in ("parquet", "wide", "readme") if run.get(k)]
    if prefix:
        lines.append(f"table: {prefix}{table}")
        if others:
            lines.append("also: " + ", ".join(f"{prefix}{p}" for p in others))
        pattern = run.get("per_month", "")
        if pattern:
            lines.append(
                f"per-month tables: {prefix}{pattern} ({_months_text(run.get('months', []))})"
            )
        lines.append(f"report: {command}")
        return lines
    lines.append(f"table: {show(table)}" if Path(table).exists() else "table: not made yet")
    if others:
        lines.append("also: " + ", ".join(show(p) for p in others if Path(p).exists()))
    lines += _per_month(run, show)
    if report and Path(report).exists() and _mtime(report) >= _mtime(table):
        lines.append(f"report: {show(report)}")
    elif report and report_next and Path(table).exists():
        lines.append(f"report: {show(report)} ({report_next} builds it next)")
    elif Path(table).exists():
        lines.append(f"report: {command}")
    return [ln for ln in lines if not ln.endswith("also: ")]


def _per_month(run: dict, show) -> list[str]:
    """Where the per-month tables are; those missing (deleted since) are said, with how to
    get them back."""
    pattern = run.get("per_month")
    if not pattern:
        return []
    parts, missing = [], []
    for source in run.get("sources", []):
        months = run.get("months", [])
        have = [m for m in months if Path(pattern.format(source=source, month=m)).exists()]
        missing += [pattern.format(source=source, month=m) for m in months if m not in have]
        if have:
            folder = os.path.dirname(pattern.format(source=source, month="x"))
            parts.append(f"{show(folder)}/ ({_months_text(have)})")
    lines = [f"per-month tables: {', '.join(parts)}"] if parts else []
    if missing:
        lines.append(
            f"per-month tables missing: {len(missing)} (e.g. {show(missing[0])}); run again to "
            "make them anew"
        )
    return lines


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0
