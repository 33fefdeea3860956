"""Running downloads, seen through the ``<log>.progress`` files the jobs keep.

The job log contract (docs: design): while a download runs, the job replaces
``<its log path>.progress`` about once a second with
``{"name", "bytes", "total", "started", "updated"}`` and deletes it when it ends.
"""

import json
import threading
from collections import deque
from pathlib import Path

from .text import human_bytes, human_rate

# the current rate is measured over this many seconds of samples
RATE_WINDOW = 5.0


def read_progress(path: Path) -> dict | None:
    """The progress file's content, or None (missing, half-written or not ours)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("bytes"), int | float):
        return None
    return data


class Download:
    """One job's download as last seen in its progress file."""

    def __init__(self, data: dict, first_print: float):
        self.name = str(data.get("name") or "download")
        self.bytes = 0
        self.total = None
        self.started = None
        self.updated = None
        self.samples = deque()  # (updated, bytes)
        self.first = None  # first sample seen: (updated, bytes)
        self.next_print = first_print
        self.update(data)

    def update(self, data: dict) -> None:
        self.name = str(data.get("name") or self.name)
        self.bytes = int(data.get("bytes") or 0)
        total = data.get("total")
        self.total = int(total) if isinstance(total, int | float) and total > 0 else None
        started = data.get("started")
        self.started = float(started) if isinstance(started, int | float) else self.started
        updated = data.get("updated")
        if not isinstance(updated, int | float):
            return
        self.updated = float(updated)
        sample = (self.updated, self.bytes)
        if self.first is None:
            self.first = sample
        if not self.samples or self.samples[-1][0] < self.updated:
            self.samples.append(sample)
        while len(self.samples) > 2 and self.samples[-1][0] - self.samples[1][0] >= RATE_WINDOW:
            self.samples.popleft()

    @property
    def percent(self) -> float | None:
        if not self.total:
            return None
        return min(100.0, 100.0 * self.bytes / self.total)

    def rate(self) -> float | None:
        """Bytes per second over the last few seconds (from the start until then)."""
        if len(self.samples) >= 2:
            (t0, b0), (t1, b1) = self.samples[0], self.samples[-1]
            if t1 - t0 >= 0.5:
                return max(0.0, (b1 - b0) / (t1 - t0))
        return self.mean_rate()

    def mean_rate(self, end: float | None = None) -> float | None:
        """Mean bytes per second of the whole download (as far as it was seen)."""
        # measured between the first and the last sample seen when they span a while
        # (right even when a download resumed a partial file), else since the start
        if self.first and self.updated and self.updated - self.first[0] >= 1.0:
            return max(0.0, (self.bytes - self.first[1]) / (self.updated - self.first[0]))
        end = end or self.updated
        if self.started and end and end - self.started > 0:
            return self.bytes / (end - self.started)
        return None

    def size(self) -> int:
        return self.total or self.bytes

    def describe(self) -> str:
        """``NAME: 12.3 MB of 45.0 MB (27%), 2.1 MB/s``."""
        done = human_bytes(self.bytes)
        if self.total:
            done = f"{done} of {human_bytes(self.total)} ({self.percent:.0f}%)"
        return f"{self.name}: {done}, {human_rate(self.rate())}"

    def summary(self, end: float | None) -> str:
        """``45.0 MB at 2.1 MB/s`` for the line of the finished job."""
        return f"{human_bytes(self.size())} at {human_rate(self.mean_rate(end))}"


class Poller:
    """Calls ``poll()`` about every ``interval`` seconds in a daemon thread until stopped."""

    def __init__(self, poll, interval: float = 0.5):
        self._poll = poll
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sezlights-progress", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._poll()
            except Exception:  # never let the console take the run down
                pass

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
