"""The console's log handler: Snakemake's records in, the console's lines out.

Each record goes to what keeps track of it (:mod:`.steps` for the jobs and the step
count, :mod:`.failures` for what failed and why); Snakemake's own chatter is dropped
but for a few messages; running downloads are polled (:mod:`.downloads`) and shown
(:mod:`.display`); :mod:`.closing` writes the last lines.
"""

import logging
import os
import re
import sys
import threading
import time

from snakemake_interface_logger_plugins.base import LogHandlerBase
from snakemake_interface_logger_plugins.common import LogEvent

from .closing import Paths, closing_lines
from .display import PlainDisplay, RichDisplay, View, stderr_is_terminal
from .downloads import Download, Poller, read_progress
from .failures import INTERRUPT_MESSAGES, Failures
from .records import from_snakemake, message
from .steps import Job, Steps

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
_RESTART = re.compile(r"^Trying to restart job (\d+)\.")


class LogHandler(LogHandlerBase):
    def __post_init__(self) -> None:
        common = self.common_settings
        interval = getattr(self.settings, "progress_interval", None)
        self._interval = float(interval) if interval is not None else 10.0
        self._report_next = getattr(self.settings, "report_next", None) or None
        self._dryrun = bool(getattr(common, "dryrun", False))
        self._verbose = bool(getattr(common, "verbose", False))
        quiet = {str(getattr(q, "name", q)).lower() for q in (getattr(common, "quiet", None) or ())}
        self._quiet_all = "all" in quiet
        self._quiet_progress = self._quiet_all or "progress" in quiet
        self._lock = threading.RLock()
        self._closed = False
        self._t0 = time.time()

        self._steps = Steps(
            self._say,
            dryrun=self._dryrun,
            quiet_all=self._quiet_all,
            quiet_progress=self._quiet_progress,
        )
        self._failures = Failures(self._say, quiet_all=self._quiet_all)
        self._paths = Paths(os.getcwd())
        self._nothing_to_do = False
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
                LogEvent.RUN_INFO: self._steps.run_info,
                LogEvent.WORKFLOW_STARTED: self._on_workflow_started,
                LogEvent.JOB_INFO: self._on_job_info,
                LogEvent.JOB_FINISHED: self._on_job_finished,
                LogEvent.PROGRESS: self._steps.progress,
                LogEvent.JOB_ERROR: lambda r: self._failures.job_error(r, self._steps),
                LogEvent.GROUP_ERROR: lambda r: self._failures.group_error(r, self._steps),
                LogEvent.ERROR: self._failures.error,
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
        msg = message(record)
        if not msg or msg == "None":
            return
        m = _RESTART.match(msg)
        if m:
            self._failures.restart(m[1])
            return
        if msg.startswith(NOTHING_TO_BE_DONE):
            self._nothing_to_do = True
        if msg.startswith(INTERRUPT_MESSAGES):
            self._failures.interrupted = True  # Ctrl-C: said once, at the end
            return
        if self._quiet_all or msg.startswith(DROP):
            return
        if record.levelno >= logging.WARNING or msg.startswith(KEEP_INFO):
            self._say(msg)
        elif record.levelno >= logging.INFO and not from_snakemake(record):
            self._say(msg)  # the workflow's own logger.info(...)
        elif self._verbose:
            self._say(msg)

    def _on_workflow_started(self, record) -> None:
        self._t0 = record.created
        files = getattr(record, "configfiles", None) or []
        # --configfile files arrive as Paths, the Snakefile's configfile: as written
        self._paths.cli_configfiles = [str(f) for f in files if isinstance(f, os.PathLike)]
        self._paths.snakefile = getattr(record, "snakefile_main", None)

    def _on_job_info(self, record) -> None:
        if self._steps.job_info(record) is not None:
            self._start_live()

    def _on_job_finished(self, record) -> None:
        job = self._steps.job_finished(record)
        if job is not None:
            self._poll_job(job)  # its last bytes, if the file is still there
            if not self._quiet_all:
                for text in job.notes():
                    self._say(f"note: {text}")

    # -- downloads ----------------------------------------------------------------------

    def _start_live(self) -> None:
        if self._poller is None:
            self._poller = Poller(self._poll)
            self._poller.start()
        if self._display.live:
            self._display.start()

    def _poll_job(self, job: Job) -> None:
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
            for job in list(self._steps.running.values()):
                self._poll_job(job)
                download = job.download
                if download is None or self._display.live or self._quiet_progress:
                    continue
                if now >= download.next_print:
                    self._say(f"  downloading {download.describe()}")
                    download.next_print = now + self._interval
                # each retry wait once, when it starts (the live display shows it throughout)
                for key, line in zip(download.wait_keys(), download.waits(now), strict=True):
                    if key not in job.waits_said:
                        job.waits_said.add(key)
                        self._say(f"  retrying {line}")
            self._refresh_view()

    def _refresh_view(self) -> None:
        if not self._display.live:
            return
        running, downloads = [], []
        for job in self._steps.running.values():
            d = job.download
            if d is None:
                running.append((job.label, job.start))
            else:
                downloads.append((d.name, d.bytes, d.total, d.percent, d.rate(), tuple(d.waits())))
        self._view = View(
            done=self._steps.done,
            total=self._steps.total,
            provisional=self._steps.pending_checkpoints() > 0 or self._steps.settling,
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
                lines = closing_lines(
                    self._steps,
                    self._failures,
                    self._paths,
                    started=self._t0,
                    dryrun=self._dryrun,
                    quiet_all=self._quiet_all,
                    nothing_to_do=self._nothing_to_do,
                    report_next=self._report_next,
                )
            except Exception as exc:
                lines = [f"sezlights console: internal error at the end: {exc!r}"]
            try:
                self._display.stop()
            except Exception:
                self._display = PlainDisplay()
            for line in lines:
                self._say(line)
        super().close()

    def _internal_error(self, exc: BaseException) -> None:
        self._internal_errors += 1
        if self._internal_errors <= 3:
            try:
                sys.stderr.write(f"sezlights console: internal error: {exc!r}\n")
            except Exception:
                pass
