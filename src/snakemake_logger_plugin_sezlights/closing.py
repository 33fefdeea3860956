"""The closing lines of a run: where the results are, or, last, why the run failed.

Paths are shown as seen from where snakemake was started (``--directory`` may have
moved the working directory), and the report command is the one to type there.
"""

import os
import re
import shlex
import time

from .failures import Failure, Failures
from .records import steps as steps_text
from .results import result_lines
from .steps import Steps
from .text import clean_exception, final_line, human_duration, local_path, strip_annotation

_MISSING_OUTPUT = re.compile(
    r"^Job (\d+) completed successfully, but some output files are missing"
)


class Paths:
    """Paths as seen from ``start_dir``, where snakemake was started."""

    def __init__(self, start_dir: str):
        self.start_dir = start_dir
        self.snakefile: str | None = None
        self.cli_configfiles: list[str] = []

    def show(self, path: str) -> str:
        """A path relative to the working directory, as seen from where snakemake was run."""
        path = str(path)
        if "://" in path or os.getcwd() == self.start_dir:
            return path
        return os.path.relpath(os.path.abspath(path), self.start_dir)

    def show_abs(self, path: str) -> str:
        """An absolute path, relative to where snakemake was run if it is below it."""
        rel = os.path.relpath(str(path), self.start_dir)
        return str(path) if rel.startswith("..") else rel

    def show_log(self, failure: Failure) -> str:
        log = strip_annotation(failure.logs[0])
        if "://" in log and local_path(log).exists():
            return self.show(str(local_path(log)))
        return self.show(log)

    def report_command(self) -> str:
        parts = ["snakemake"]
        if self.snakefile and not any(
            os.path.abspath(os.path.join(self.start_dir, name)) == os.path.abspath(self.snakefile)
            for name in ("Snakefile", "snakefile", "workflow/Snakefile", "workflow/snakefile")
        ):
            parts += ["--snakefile", self.show_abs(self.snakefile)]
        if os.getcwd() != self.start_dir:
            parts += ["--directory", os.path.relpath(os.getcwd(), self.start_dir)]
        if self.cli_configfiles:
            parts += ["--configfile", *(self.show_abs(f) for f in self.cli_configfiles)]
        parts += ["--report"]  # the report's path follows (results.RUN_FILE says it)
        return shlex.join(parts)


def closing_lines(
    steps: Steps,
    failures: Failures,
    paths: Paths,
    *,
    started: float,
    dryrun: bool,
    quiet_all: bool,
    nothing_to_do: bool,
    report_next: str | None = None,
) -> list[str]:
    """What the console prints last: the failed jobs and the one reason (its very last
    line), or the time taken and where the table, per-month tables and report are."""
    final = failures.final()
    others = list(failures.pending_errors)
    lines = []
    if failures.interrupted:  # Snakemake said so: a job's log alone may be an old run's
        return interrupted_lines(steps, [f for f in final if not f.interrupted()], paths)
    if final:
        for cls, text in others:
            lines.append(final_line(clean_exception(text, cls)))
        for f in final:
            lines.append(f"failed: {f.label}" + (f" (log: {paths.show_log(f)})" if f.logs else ""))
        first = final[0]
        see = f"; see {paths.show_log(first)}" if first.logs else "; see the messages above"
        lines.append(final_line(first.reason() or f"{first.label} failed{see}"))
        return lines
    if others:
        for cls, text in others:
            m = _MISSING_OUTPUT.match(clean_exception(text, cls))
            job = steps.jobs.get(int(m[1])) if m else None
            if job is not None:
                log = f" (log: {paths.show(job.logs[0])})" if job.logs else ""
                lines.append(f"failed: {job.label}{log}")
        lines.extend(final_line(clean_exception(text, cls)) for cls, text in others)
        return lines
    if failures.generic_failure:
        return ["error: at least one job did not complete successfully"]
    if quiet_all:
        return []
    if steps.ran and not dryrun:
        elapsed = human_duration(time.time() - started)
        lines.append(f"done: {steps_text(steps.done)} in {elapsed}")
    if (steps.ran and not dryrun) or nothing_to_do:
        lines.extend(
            result_lines(
                steps.storage_uris,
                show=paths.show,
                report_command=paths.report_command(),
                report_next=report_next,
            )
        )
    return lines


def interrupted_lines(steps: Steps, failed: list[Failure], paths: Paths) -> list[str]:
    """Ctrl-C: the jobs that had failed on their own before it (if any), then one line:
    the run was interrupted, what is kept, and that running again resumes."""
    lines = []
    for f in failed:
        lines.append(f"failed: {f.label}" + (f" (log: {paths.show_log(f)})" if f.logs else ""))
        lines.append(final_line(f.reason() or f"{f.label} failed"))
    done = f"after {steps_text(steps.done)}" if steps.done else "before any step finished"
    lines.append(
        f"interrupted (Ctrl-C) {done}: finished steps are kept, and so are the parts of "
        "files being downloaded; run the same command again to resume from there."
    )
    return lines
