"""The real peak memory of a job: its whole process tree, watched closely.

Snakemake's ``benchmark:`` file samples a job's processes every 0.5 s for its first 15 s,
then every 30 s (``snakemake.benchmark``: ``BENCHMARK_INTERVAL_SHORT``,
``BENCHMARK_INTERVAL``), so a peak between two samples is not in ``max_rss``: a
20-degree zone's statistics job was recorded at 565 MB while its processes peaked at
3.65 GB. :class:`PeakRSS` (started by :func:`sezlights.job.run_step` for every job) samples
the job's process and all its descendants every ``interval`` seconds (0.1 s) from
``/proc``, and never reports less than the kernel's own peak of any one of them
(``VmHWM``: the high-water mark the kernel keeps per process, so the job's own peak is
exact whatever the sampling). The job's log gets one line::

    peak RSS of the job's processes: 3671.2 MB (...)

which is the figure to trust for ``mem_mb`` (README, "Memory"). Without ``/proc`` (not
Linux) it falls back to ``getrusage``: the job's own peak and its largest child's.
"""

from __future__ import annotations

import logging
import os
import resource
import sys
import threading
from pathlib import Path

log = logging.getLogger("sezlights.peak")

PROC = Path("/proc")
LINE = "peak RSS of the job's processes"


def _status_kb(pid: int, field: str) -> int | None:
    """``field`` (``VmRSS``, ``VmHWM``) of ``/proc/<pid>/status`` in kB; None if gone."""
    try:
        with open(PROC / str(pid) / "status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return 0


def _children(pid: int) -> list[int]:
    """The child processes of ``pid`` (from every thread's ``children`` list)."""
    out: list[int] = []
    try:
        tasks = list((PROC / str(pid) / "task").iterdir())
    except OSError:
        return out
    for task in tasks:
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return out


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, children first."""
    found, todo = [], _children(pid)
    while todo:
        child = todo.pop()
        if child not in found:
            found.append(child)
            todo += _children(child)
    return found


class PeakRSS:
    """Samples the RSS of this process and its descendants in a daemon thread; ``stop()``
    gives the peak in bytes (see the module doc)."""

    def __init__(self, interval: float = 0.1, pid: int | None = None):
        self.interval = interval
        self.pid = pid or os.getpid()
        self.proc = PROC.is_dir() and (PROC / str(self.pid) / "status").exists()
        self.sampled_kb = 0  # the largest sum over the tree at one sample
        self.hwm_kb: dict[int, int] = {}  # each process's own peak, as last seen
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sezlights-peak", daemon=True)

    def start(self) -> PeakRSS:
        if self.proc:
            self.sample()
            self._thread.start()
        return self

    def sample(self) -> None:
        total = 0
        for pid in (self.pid, *descendants(self.pid)):
            rss, hwm = _status_kb(pid, "VmRSS"), _status_kb(pid, "VmHWM")
            if rss is None:
                continue  # gone meanwhile
            total += rss
            if hwm:
                self.hwm_kb[pid] = max(self.hwm_kb.get(pid, 0), hwm)
        self.sampled_kb = max(self.sampled_kb, total)
        self.samples += 1

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sample()
            except Exception:  # noqa: BLE001 - a measurement never fails the job
                return

    def stop(self) -> int:
        """The peak in bytes: the largest sampled sum over the tree, at least the kernel's
        peak of any one process (its own included)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        if not self.proc:
            own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, kB on Linux
            return max(own, child) * scale
        self.sample()
        return max(self.sampled_kb, *self.hwm_kb.values(), 0) * 1024

    def describe(self, peak: int) -> str:
        how = (
            f"the job's process and its descendants sampled every {self.interval:g} s "
            f"({self.samples} samples), and at least the kernel's peak (VmHWM) of any one"
            if self.proc
            else "getrusage: the job's own peak or its largest child's"
        )
        return (
            f"{LINE}: {peak / 2**20:.1f} MB ({how}; Snakemake's benchmark file samples "
            "every 30 s after the first 15 s and can miss it)"
        )
