"""The sezlights console: a Snakemake logger plugin (``--logger sezlights``).

It replaces Snakemake's own stderr output (``writes_to_stream``) with what a person
running the pipeline needs:

- one line per finished job, ``[ 7/19] <the rule's message>  (3.2 s)``; while checkpoint
  jobs are pending the step total is shown as ``19+`` (more steps once the months are
  listed), and the console says once when it is final;
- the bytes, total, percent and rate of each running download, read from the
  ``<log>.progress`` files of the job log contract: a live display on a terminal
  (``rich``), a plain line per download at most every ``progress_interval`` seconds
  otherwise;
- the workflow's warnings and Snakemake's "Nothing to be done" as they are; the job
  counts and the dry-run lines of ``--dry-run``;
- at the end, where the table, the per-month tables and the report are, or, as the
  very last line, the one-line reason the run failed (the ``ERROR <message>`` last
  line of the first failed job's log, or the message of the error Snakemake raised).

Snakemake finds the plugin by its module name (``snakemake_logger_plugin_*``): with the
project installed (``pip install -e .``) it is ``--logger sezlights`` or the profile key
``logger: sezlights``.
"""

import logging
import os
import re
import shlex
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import snakemake_interface_logger_plugins
from snakemake_interface_logger_plugins.base import LogHandlerBase
from snakemake_interface_logger_plugins.common import LogEvent
from snakemake_interface_logger_plugins.settings import LogHandlerSettingsBase

from .display import PlainDisplay, RichDisplay, View, stderr_is_terminal
from .downloads import Download, Poller, read_progress
from .results import REPORT, result_lines
from .text import (
    clean_exception,
    final_line,
    human_duration,
    job_label,
    local_path,
    log_error_message,
    one_line,
    strip_annotation,
)

__all__ = ["LogHandler", "LogHandlerSettings"]

MORE_STEPS = "more steps once the months are listed"
NOTHING_TO_BE_DONE = "Nothing to be done"
# Snakemake's own INFO messages that stay (all its other chatter goes)
KEEP_INFO = (
    NOTHING_TO_BE_DONE,
    "This was a dry-run",
    "The run involves checkpoint jobs",
    "Creating report",
    "Report created",
    "Unlocked working directory",
    "Unlocking working directory",
)
DROP = (
    "Exiting because a job execution failed",
    "Shutting down, this might take some time",
)
GENERIC_FAILURE = "At least one job did not complete successfully"
_RESTART = re.compile(r"^Trying to restart job (\d+)\.")
_MISSING_OUTPUT = re.compile(
    r"^Job (\d+) completed successfully, but some output files are missing"
)
_EXIT_STATUS = re.compile(r"^a command returned non-zero exit status (-?\d+)\.?$")
_SITE = os.path.dirname(
    os.path.dirname(os.path.abspath(snakemake_interface_logger_plugins.__file__))
)


@dataclass
class LogHandlerSettings(LogHandlerSettingsBase):
    progress_interval: float = field(
        default=10.0,
        metadata={
            "help": "Without a terminal (CI, pipes), print a running download's bytes "
            "and rate at most every this many seconds (default 10).",
            "env_var": False,
            "required": False,
            "type": float,
        },
    )


@dataclass
class _Job:
    jobid: object
    rule: str
    label: str
    logs: list
    is_checkpoint: bool
    start: float
    attempts: int = 0
    download: Download | None = None

    @property
    def progress_files(self):
        return [Path(f"{local_path(log)}.progress") for log in self.logs]


@dataclass
class _Failure:
    jobid: object
    label: str
    logs: list
    final: bool = True
    attempts: int = 0
    errors: list = field(default_factory=list)  # (exception class, text) just before it
    message: str | None = None  # from the log's last line
    executor_message: str | None = None  # what a cluster executor said
    last_retry_reason: str | None = None

    def reason(self) -> str | None:
        message = log_error_message(self.logs) or self.message
        if message:
            return message
        for cls, text in self.errors:
            cleaned = clean_exception(text, cls)
            m = _EXIT_STATUS.match(cleaned)
            if m:
                return f"the job exited with status {m[1]}" + (
                    f"; see {strip_annotation(self.logs[0])}" if self.logs else ""
                )
            return cleaned
        if self.executor_message:
            return one_line(self.executor_message)
        return None


class LogHandler(LogHandlerBase):
    def __post_init__(self) -> None:
        common = self.common_settings
        interval = getattr(self.settings, "progress_interval", None)
        self._interval = float(interval) if interval is not None else 10.0
        self._dryrun = bool(getattr(common, "dryrun", False))
        self._verbose = bool(getattr(common, "verbose", False))
        quiet = {str(getattr(q, "name", q)).lower() for q in (getattr(common, "quiet", None) or ())}
        self._quiet_all = "all" in quiet
        self._quiet_progress = self._quiet_all or "progress" in quiet
        self._lock = threading.RLock()
        self._closed = False
        self._start_dir = os.getcwd()
        self._t0 = time.time()

        self._jobs = {}  # jobid -> _Job
        self._running = {}  # jobid -> _Job, in start order
        self._batch = []  # (jobid, end time) finished since the last PROGRESS
        self._stats = {}
        self._stats_printed = False
        self._checkpoint_rules = set()
        self._started = defaultdict(set)  # rule -> jobids
        self._finished = defaultdict(set)  # rule -> jobids
        self._done = 0
        self._total = None
        self._shown_total = None
        self._shown_provisional = False
        self._more_noted = False
        self._settling = False

        self._failures = {}  # jobid -> _Failure, in order of failure
        self._pending_errors = []  # ERROR records not (yet) tied to a failed job
        self._generic_failure = False
        self._ran = False
        self._nothing_to_do = False
        self._storage_uris = []
        self._cli_configfiles = []
        self._snakefile = None
        self._internal_errors = 0

        self._view = View(started=self._t0)
        self._display = PlainDisplay()
        if stderr_is_terminal() and not self._dryrun and not self._quiet_progress:
            try:
                self._display = RichDisplay(lambda: self._view, getattr(common, "nocolor", False))
            except ImportError:  # rich is optional: plain lines then
                pass
        self._poller = None

    # -- the plugin's properties ------------------------------------------------------

    @property
    def writes_to_stream(self) -> bool:
        return True

    @property
    def writes_to_file(self) -> bool:
        return False

    @property
    def has_filter(self) -> bool:
        return True

    @property
    def has_formatter(self) -> bool:
        return True

    @property
    def needs_rulegraph(self) -> bool:
        return False

    # -- records ----------------------------------------------------------------------

    def emit(self, record: logging.LogRecord) -> None:
        try:
            with self._lock:
                if self._closed:
                    return
                self._handle(record)
                self._refresh_view()
        except Exception as exc:  # the console must never take the run down
            self._internal_error(exc)

    def _handle(self, record) -> None:
        event = getattr(record, "event", None)
        handler = (
            {
                LogEvent.RUN_INFO: self._on_run_info,
                LogEvent.WORKFLOW_STARTED: self._on_workflow_started,
                LogEvent.JOB_INFO: self._on_job_info,
                LogEvent.JOB_FINISHED: self._on_job_finished,
                LogEvent.PROGRESS: self._on_progress,
                LogEvent.JOB_ERROR: self._on_job_error,
                LogEvent.GROUP_ERROR: self._on_group_error,
                LogEvent.ERROR: self._on_error,
            }.get(event)
            if event
            else self._on_message
        )
        if handler is not None:
            handler(record)
        # JOB_STARTED, GROUP_INFO, SHELLCMD, RESOURCES_INFO, DEBUG_DAG, RULEGRAPH: dropped

    def _say(self, text: str) -> None:
        self._display.line(text)

    def _on_message(self, record) -> None:
        """Records without an event: Snakemake's chatter, the workflow's warnings."""
        msg = _message(record)
        if not msg or msg == "None":
            return
        m = _RESTART.match(msg)
        if m:
            self._on_restart(m[1])
            return
        if msg.startswith(NOTHING_TO_BE_DONE):
            self._nothing_to_do = True
        if self._quiet_all or msg.startswith(DROP):
            return
        if record.levelno >= logging.WARNING or msg.startswith(KEEP_INFO):
            self._say(msg)
        elif record.levelno >= logging.INFO and not _from_snakemake(record):
            self._say(msg)  # the workflow's own logger.info(...)
        elif self._verbose:
            self._say(msg)

    def _on_workflow_started(self, record) -> None:
        self._t0 = record.created
        files = getattr(record, "configfiles", None) or []
        # --configfile files arrive as Paths, the Snakefile's configfile: as written
        self._cli_configfiles = [str(f) for f in files if isinstance(f, os.PathLike)]
        self._snakefile = getattr(record, "snakefile_main", None)

    def _on_run_info(self, record) -> None:
        stats = dict(getattr(record, "stats", None) or {})
        if self._dryrun:
            if not self._stats_printed and not self._quiet_all:
                self._say(_message(record).rstrip())
            self._stats_printed = True
            return
        self._ran = True
        self._stats = stats
        if self._total is None:
            self._total = stats.get("total")
        if not self._stats_printed and not self._quiet_progress and self._total:
            self._say(f"{_steps(self._total)} to run.")
        self._stats_printed = True

    def _on_job_info(self, record) -> None:
        if self._dryrun:
            return
        jobid = getattr(record, "jobid", None)
        rule = str(getattr(record, "rule_name", "") or "")
        outputs = [strip_annotation(o) for o in getattr(record, "output", None) or []]
        self._storage_uris.extend(o for o in outputs if "://" in o)
        job = self._jobs.get(jobid)
        if job is None:
            job = _Job(
                jobid=jobid,
                rule=rule,
                label=job_label(
                    getattr(record, "rule_msg", None), rule, getattr(record, "wildcards", None)
                ),
                logs=[str(p) for p in getattr(record, "log", None) or []],
                is_checkpoint=bool(getattr(record, "is_checkpoint", False)),
                start=record.created,
            )
            self._jobs[jobid] = job
        job.start = record.created
        job.attempts += 1
        job.download = None
        self._running[jobid] = job
        self._started[rule].add(jobid)
        if job.is_checkpoint:
            self._checkpoint_rules.add(rule)
            if not self._more_noted and not self._quiet_progress:
                total = self._total if self._total is not None else "?"
                self._say(f"The step total grows once the months are listed ({total}+ so far).")
            self._more_noted = True
        self._start_live()

    def _on_job_finished(self, record) -> None:
        jobid = getattr(record, "job_id", None)
        job = self._running.pop(jobid, None) or self._jobs.get(jobid)
        if job is not None:
            self._poll_job(job)  # its last bytes, if the file is still there
        self._batch.append((jobid, record.created))

    def _pending_checkpoints(self) -> int:
        pending = 0
        for rule in self._checkpoint_rules:
            expected = max(self._stats.get(rule, 0), len(self._started[rule]))
            pending += max(0, expected - len(self._finished[rule]))
        return pending

    def _on_progress(self, record) -> None:
        done, total = int(record.done), int(record.total)
        batch, self._batch = self._batch, []
        pending_before = self._pending_checkpoints()
        for jobid, _ in batch:
            job = self._jobs.get(jobid)
            if job is not None:
                self._finished[job.rule].add(jobid)
        # this total was counted before the DAG took in what the checkpoints found
        provisional = pending_before > 0
        if not self._quiet_progress:
            if self._settling and not provisional:
                self._say(f"The months are listed: {total} steps in total.")
            elif (
                self._shown_total is not None
                and total != self._shown_total
                and not self._shown_provisional
            ):
                self._say(f"The step total changed from {self._shown_total} to {total}.")
        self._settling = provisional and self._pending_checkpoints() == 0
        shown = f"{total}+" if provisional else str(total)
        width = len(str(total))
        for i, (jobid, end) in enumerate(batch):
            job = self._jobs.get(jobid)
            if job is None or self._quiet_progress:
                continue
            number = done - (len(batch) - 1 - i)
            extra = f", {job.download.summary(end)}" if job.download else ""
            duration = human_duration(end - job.start)
            self._say(f"[{number:>{width}}/{shown}] {job.label}  ({duration}{extra})")
            job.download = None
        self._done, self._total = done, total
        self._shown_total, self._shown_provisional = total, provisional

    def _failure(self, jobid, label, logs) -> _Failure:
        failure = self._failures.get(jobid)
        if failure is None:
            failure = _Failure(jobid=jobid, label=label, logs=logs)
            self._failures[jobid] = failure
        elif logs:
            failure.logs = logs
        return failure

    def _on_job_error(self, record) -> None:
        jobid = getattr(record, "jobid", None)
        job = self._jobs.get(jobid)
        rule = getattr(record, "rule_name", None)
        label = job.label if job else job_label(None, rule, None)
        logs = [str(p) for p in getattr(record, "log", None) or []] or (job.logs if job else [])
        failure = self._failure(jobid, label, logs)
        failure.final = True
        failure.attempts += 1
        failure.errors, self._pending_errors = self._pending_errors, []
        # read now: a retry may soon write the log again, storage may clean it up
        failure.message = log_error_message(logs) or failure.message
        executor_message = getattr(record, "rule_msg", None)
        if executor_message:
            failure.executor_message = str(executor_message)
        self._running.pop(jobid, None)
        if job is not None:
            job.download = None

    def _on_group_error(self, record) -> None:
        aux = [str(p) for p in getattr(record, "aux_logs", None) or []]
        errors, self._pending_errors = self._pending_errors, []
        for info in getattr(record, "job_error_info", None) or []:
            jobid = info.get("jobid")
            job = self._jobs.get(jobid)
            label = job.label if job else job_label(None, info.get("rule_name"), None)
            logs = [str(p) for p in info.get("log") or []] + aux
            failure = self._failure(jobid, label, logs)
            failure.final = True
            failure.attempts += 1
            failure.errors, errors = errors, []
            failure.message = log_error_message(logs) or failure.message
            self._running.pop(jobid, None)

    def _on_restart(self, jobid_text: str) -> None:
        failure = self._failures.get(int(jobid_text))
        if failure is None:
            return
        failure.final = False
        if self._quiet_all:
            return
        reason = failure.reason()
        attempt = failure.attempts + 1
        if reason and reason == failure.last_retry_reason:
            self._say(f"retrying {failure.label} (attempt {attempt}): same error")
        elif reason:
            self._say(f"retrying {failure.label} (attempt {attempt}) after {final_line(reason)}")
        else:
            self._say(f"retrying {failure.label} (attempt {attempt})")
        failure.last_retry_reason = reason

    def _on_error(self, record) -> None:
        text = _message(record)
        if GENERIC_FAILURE in text:
            self._generic_failure = True
            return
        self._pending_errors.append((getattr(record, "exception", None), text))

    # -- downloads ----------------------------------------------------------------------

    def _start_live(self) -> None:
        if self._poller is None:
            self._poller = Poller(self._poll)
            self._poller.start()
        if self._display.live:
            self._display.start()

    def _poll_job(self, job: _Job) -> None:
        for path in job.progress_files:
            data = read_progress(path)
            if data is not None:
                if job.download is None:
                    job.download = Download(data, first_print=job.start + self._interval)
                else:
                    job.download.update(data)
                return

    def _poll(self) -> None:
        with self._lock:
            if self._closed:
                return
            now = time.time()
            for job in list(self._running.values()):
                self._poll_job(job)
                download = job.download
                if (
                    download is not None
                    and not self._display.live
                    and not self._quiet_progress
                    and now >= download.next_print
                ):
                    self._say(f"  downloading {download.describe()}")
                    download.next_print = now + self._interval
            self._refresh_view()

    def _refresh_view(self) -> None:
        if not self._display.live:
            return
        running, downloads = [], []
        for job in self._running.values():
            d = job.download
            if d is None:
                running.append((job.label, job.start))
            else:
                downloads.append((d.name, d.bytes, d.total, d.percent, d.rate()))
        self._view = View(
            done=self._done,
            total=self._total,
            provisional=self._pending_checkpoints() > 0 or self._settling,
            started=self._t0,
            running=tuple(running),
            downloads=tuple(downloads),
        )

    # -- the end --------------------------------------------------------------------------

    def close(self) -> None:
        # Snakemake calls close() when it stops logging, and logging.shutdown() again at exit
        with self._lock:
            if self._closed:
                super().close()
                return
            self._closed = True
            poller = self._poller
        if poller is not None:
            poller.stop()
        with self._lock:
            try:
                lines = self._closing_lines()
            except Exception as exc:
                lines = [f"sezlights console: internal error at the end: {exc!r}"]
            try:
                self._display.stop()
            except Exception:
                self._display = PlainDisplay()
            for line in lines:
                self._say(line)
        super().close()

    def _show(self, path: str) -> str:
        """A path relative to the working directory, as seen from where snakemake was run."""
        path = str(path)
        if "://" in path or os.getcwd() == self._start_dir:
            return path
        return os.path.relpath(os.path.abspath(path), self._start_dir)

    def _show_abs(self, path: str) -> str:
        """An absolute path, relative to where snakemake was run if it is below it."""
        rel = os.path.relpath(str(path), self._start_dir)
        return str(path) if rel.startswith("..") else rel

    def _show_log(self, failure: _Failure) -> str:
        log = strip_annotation(failure.logs[0])
        if "://" in log and local_path(log).exists():
            return self._show(str(local_path(log)))
        return self._show(log)

    def _report_command(self) -> str:
        parts = ["snakemake"]
        if self._snakefile and not any(
            os.path.abspath(os.path.join(self._start_dir, name)) == os.path.abspath(self._snakefile)
            for name in ("Snakefile", "snakefile", "workflow/Snakefile", "workflow/snakefile")
        ):
            parts += ["--snakefile", self._show_abs(self._snakefile)]
        if os.getcwd() != self._start_dir:
            parts += ["--directory", os.path.relpath(os.getcwd(), self._start_dir)]
        if self._cli_configfiles:
            parts += ["--configfile", *(self._show_abs(f) for f in self._cli_configfiles)]
        parts += ["--report", REPORT]
        return shlex.join(parts)

    def _closing_lines(self) -> list[str]:
        failures = [f for f in self._failures.values() if f.final]
        others = [(cls, text) for cls, text in self._pending_errors]
        lines = []
        if failures:
            for cls, text in others:
                lines.append(final_line(clean_exception(text, cls)))
            for f in failures:
                lines.append(
                    f"failed: {f.label}" + (f" (log: {self._show_log(f)})" if f.logs else "")
                )
            first = failures[0]
            see = f"; see {self._show_log(first)}" if first.logs else "; see the messages above"
            lines.append(final_line(first.reason() or f"{first.label} failed{see}"))
            return lines
        if others:
            for cls, text in others:
                m = _MISSING_OUTPUT.match(clean_exception(text, cls))
                job = self._jobs.get(int(m[1])) if m else None
                if job is not None:
                    log = f" (log: {self._show(job.logs[0])})" if job.logs else ""
                    lines.append(f"failed: {job.label}{log}")
            lines.extend(final_line(clean_exception(text, cls)) for cls, text in others)
            return lines
        if self._generic_failure:
            return ["error: at least one job did not complete successfully"]
        if self._quiet_all:
            return []
        if self._ran and not self._dryrun:
            elapsed = human_duration(time.time() - self._t0)
            lines.append(f"done: {_steps(self._done)} in {elapsed}")
        if (self._ran and not self._dryrun) or self._nothing_to_do:
            lines.extend(
                result_lines(
                    self._storage_uris, show=self._show, report_command=self._report_command()
                )
            )
        return lines

    def _internal_error(self, exc: BaseException) -> None:
        self._internal_errors += 1
        if self._internal_errors <= 3:
            try:
                sys.stderr.write(f"sezlights console: internal error: {exc!r}\n")
            except Exception:
                pass


def _steps(n) -> str:
    return f"{n} step" if n == 1 else f"{n} steps"


def _message(record) -> str:
    try:
        return str(record.getMessage())
    except Exception:
        return str(getattr(record, "msg", ""))


def _from_snakemake(record) -> bool:
    """Whether a record comes from Snakemake or one of its plugins (not from the workflow)."""
    path = os.path.abspath(getattr(record, "pathname", "") or "")
    if not path.startswith(_SITE + os.sep):
        return False
    return path[len(_SITE) + 1 :].startswith("snakemake")
