"""Failure attribution: which job failed, why (in one line), and which retries came of it.

The reason of a failed job is, in this order: the ``ERROR <message>`` last line of its
log (the job log contract), the error Snakemake logged just before the failure (a
non-zero exit status named as such), what a cluster executor said.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .records import message
from .text import (
    clean_exception,
    final_line,
    job_label,
    last_line,
    local_path,
    log_error_message,
    one_line,
    strip_annotation,
)

GENERIC_FAILURE = "At least one job did not complete successfully"
_EXIT_STATUS = re.compile(r"^a command returned non-zero exit status (-?\d+)\.?$")
# Ctrl-C: what Snakemake says when it stops (its scheduler, or a KeyboardInterrupt while
# it plans), the job log's last line (sezlights.job), and a job's end by SIGINT
INTERRUPT_MESSAGES = (
    "Terminating processes on user request",
    "Cancelling snakemake on user request",
)
INTERRUPTED_LINE = "INTERRUPTED "
_BY_SIGINT = re.compile(r"(exit status (130|-2)\b|died with <Signals\.SIGINT)")


@dataclass
class Failure:
    jobid: object
    label: str
    logs: list
    final: bool = True
    attempts: int = 0
    errors: list = field(default_factory=list)  # (exception class, text) just before it
    message: str | None = None  # from the log's last line
    executor_message: str | None = None  # what a cluster executor said
    last_retry_reason: str | None = None

    def interrupted(self) -> bool:
        """The job ended on Ctrl-C (its log says so, or it exited by SIGINT), not on an error."""
        if any(
            (last_line(local_path(log)) or "").startswith(INTERRUPTED_LINE) for log in self.logs
        ):
            return True
        return any(_BY_SIGINT.search(str(text)) for _, text in self.errors)

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


class Failures:
    """The failed jobs and the errors of the run, from JOB_ERROR, GROUP_ERROR and ERROR
    records and Snakemake's "Trying to restart job" message; ``say`` prints a line."""

    def __init__(self, say: Callable[[str], None], *, quiet_all: bool):
        self._say, self._quiet_all = say, quiet_all
        self.failures: dict = {}  # jobid -> Failure, in order of failure
        self.pending_errors: list = []  # ERROR records not (yet) tied to a failed job
        self.generic_failure = False
        self.interrupted = False  # Ctrl-C: Snakemake said it stops on the user's request

    def final(self) -> list[Failure]:
        """The failures that stand (not retried)."""
        return [f for f in self.failures.values() if f.final]

    def _failure(self, jobid, label, logs) -> Failure:
        failure = self.failures.get(jobid)
        if failure is None:
            failure = Failure(jobid=jobid, label=label, logs=logs)
            self.failures[jobid] = failure
        elif logs:
            failure.logs = logs
        return failure

    def job_error(self, record, steps) -> None:
        jobid = getattr(record, "jobid", None)
        job = steps.jobs.get(jobid)
        rule = getattr(record, "rule_name", None)
        label = job.label if job else job_label(None, rule, None)
        logs = [str(p) for p in getattr(record, "log", None) or []] or (job.logs if job else [])
        failure = self._failure(jobid, label, logs)
        failure.final = True
        failure.attempts += 1
        failure.errors, self.pending_errors = self.pending_errors, []
        # read now: a retry may soon write the log again, storage may clean it up
        failure.message = log_error_message(logs) or failure.message
        executor_message = getattr(record, "rule_msg", None)
        if executor_message:
            failure.executor_message = str(executor_message)
        steps.stopped(jobid)

    def group_error(self, record, steps) -> None:
        aux = [str(p) for p in getattr(record, "aux_logs", None) or []]
        errors, self.pending_errors = self.pending_errors, []
        for info in getattr(record, "job_error_info", None) or []:
            jobid = info.get("jobid")
            job = steps.jobs.get(jobid)
            label = job.label if job else job_label(None, info.get("rule_name"), None)
            logs = [str(p) for p in info.get("log") or []] + aux
            failure = self._failure(jobid, label, logs)
            failure.final = True
            failure.attempts += 1
            failure.errors, errors = errors, []
            failure.message = log_error_message(logs) or failure.message
            steps.running.pop(jobid, None)

    def restart(self, jobid_text: str) -> None:
        failure = self.failures.get(int(jobid_text))
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

    def error(self, record) -> None:
        text = message(record)
        if GENERIC_FAILURE in text:
            self.generic_failure = True
            return
        if text.startswith(INTERRUPT_MESSAGES) or getattr(record, "exception", None) == (
            "KeyboardInterrupt"
        ):
            self.interrupted = True
            return
        self.pending_errors.append((getattr(record, "exception", None), text))
