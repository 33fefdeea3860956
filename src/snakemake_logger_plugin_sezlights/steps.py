"""Job and step tracking: which jobs run, one line per finished job, the step total.

A finished job is ``[ 7/19] <the rule's message>  (3.2 s)``. While checkpoint jobs are
pending the total Snakemake reports was counted before the DAG took in what they find:
it is shown as ``19+``, and the console says once when it is final.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .downloads import Download
from .records import message, steps
from .text import human_duration, job_label, local_path, strip_annotation


@dataclass
class Job:
    jobid: object
    rule: str
    label: str
    logs: list
    is_checkpoint: bool
    start: float
    attempts: int = 0
    download: Download | None = None
    waits_said: set = field(default_factory=set)  # retry waits the plain display printed

    @property
    def progress_files(self):
        return [Path(f"{local_path(log)}.progress") for log in self.logs]

    def notes(self) -> list[str]:
        """The ``NOTE <text>`` lines of the job's log (the job log contract): things to
        read, said when the job ends."""
        out = []
        for log in self.logs:
            try:
                text = local_path(log).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            out += [ln[5:].strip() for ln in text.splitlines() if ln.startswith("NOTE ")]
        return out


class Steps:
    """The jobs of the run and the step count, from RUN_INFO, JOB_INFO, JOB_FINISHED and
    PROGRESS records; ``say`` prints a line."""

    def __init__(self, say: Callable[[str], None], *, dryrun: bool, quiet_all: bool,
                 quiet_progress: bool):  # fmt: skip
        self._say = say
        self._dryrun, self._quiet_all, self._quiet_progress = dryrun, quiet_all, quiet_progress
        self.jobs: dict = {}  # jobid -> Job
        self.running: dict = {}  # jobid -> Job, in start order
        self._batch: list = []  # (jobid, end time) finished since the last PROGRESS
        self._stats: dict = {}
        self._stats_printed = False
        self._checkpoint_rules: set = set()
        self._started = defaultdict(set)  # rule -> jobids
        self._finished = defaultdict(set)  # rule -> jobids
        self.done = 0
        self.total = None
        self._shown_total = None
        self._shown_provisional = False
        self._more_noted = False
        self.settling = False
        self.ran = False  # jobs were scheduled (not a dry run)
        self.storage_uris: list[str] = []  # outputs in a storage provider

    def run_info(self, record) -> None:
        stats = dict(getattr(record, "stats", None) or {})
        if self._dryrun:
            if not self._stats_printed and not self._quiet_all:
                self._say(message(record).rstrip())
            self._stats_printed = True
            return
        self.ran = True
        self._stats = stats
        if self.total is None:
            self.total = stats.get("total")
        if not self._stats_printed and not self._quiet_progress and self.total:
            self._say(f"{steps(self.total)} to run.")
        self._stats_printed = True

    def job_info(self, record) -> Job | None:
        """A job started (again, if retried); None in a dry run."""
        if self._dryrun:
            return None
        jobid = getattr(record, "jobid", None)
        rule = str(getattr(record, "rule_name", "") or "")
        outputs = [strip_annotation(o) for o in getattr(record, "output", None) or []]
        self.storage_uris.extend(o for o in outputs if "://" in o)
        job = self.jobs.get(jobid)
        if job is None:
            job = Job(
                jobid=jobid,
                rule=rule,
                label=job_label(
                    getattr(record, "rule_msg", None), rule, getattr(record, "wildcards", None)
                ),
                logs=[str(p) for p in getattr(record, "log", None) or []],
                is_checkpoint=bool(getattr(record, "is_checkpoint", False)),
                start=record.created,
            )
            self.jobs[jobid] = job
        job.start = record.created
        job.attempts += 1
        job.download = None
        self.running[jobid] = job
        self._started[rule].add(jobid)
        if job.is_checkpoint:
            self._checkpoint_rules.add(rule)
            if not self._more_noted and not self._quiet_progress:
                total = self.total if self.total is not None else "?"
                self._say(f"The step total grows once the months are listed ({total}+ so far).")
            self._more_noted = True
        return job

    def job_finished(self, record) -> Job | None:
        """The job that finished (its line waits for the next PROGRESS record)."""
        jobid = getattr(record, "job_id", None)
        job = self.running.pop(jobid, None) or self.jobs.get(jobid)
        self._batch.append((jobid, record.created))
        return job

    def stopped(self, jobid) -> Job | None:
        """A job that failed: no longer running."""
        self.running.pop(jobid, None)
        job = self.jobs.get(jobid)
        if job is not None:
            job.download = None
        return job

    def pending_checkpoints(self) -> int:
        pending = 0
        for rule in self._checkpoint_rules:
            expected = max(self._stats.get(rule, 0), len(self._started[rule]))
            pending += max(0, expected - len(self._finished[rule]))
        return pending

    def progress(self, record) -> None:
        done, total = int(record.done), int(record.total)
        batch, self._batch = self._batch, []
        pending_before = self.pending_checkpoints()
        for jobid, _ in batch:
            job = self.jobs.get(jobid)
            if job is not None:
                self._finished[job.rule].add(jobid)
        # this total was counted before the DAG took in what the checkpoints found
        provisional = pending_before > 0
        if not self._quiet_progress:
            if self.settling and not provisional:
                self._say(f"The months are listed: {total} steps in total.")
            elif (
                self._shown_total is not None
                and total != self._shown_total
                and not self._shown_provisional
            ):
                self._say(f"The step total changed from {self._shown_total} to {total}.")
        self.settling = provisional and self.pending_checkpoints() == 0
        shown = f"{total}+" if provisional else str(total)
        width = len(str(total))
        for i, (jobid, end) in enumerate(batch):
            job = self.jobs.get(jobid)
            if job is None or self._quiet_progress:
                continue
            number = done - (len(batch) - 1 - i)
            extra = f", {job.download.summary(end)}" if job.download else ""
            duration = human_duration(end - job.start)
            self._say(f"[{number:>{width}}/{shown}] {job.label}  ({duration}{extra})")
            job.download = None
        self.done, self.total = done, total
        self._shown_total, self._shown_provisional = total, provisional
