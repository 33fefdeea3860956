"""Running downloads, seen through the ``<log>.progress`` files the jobs keep.

The job log contract (docs: design): while a download runs, the job replaces
``<its log path>.progress`` about once a second with
``{"name", "bytes", "total", "started", "updated", "received", "waiting"}`` (see
``sezlights.download.Progress``) and deletes it when it ends.

Rates come from ``received``, the bytes the job received itself, over the job's own
clock (``started``, ``updated``): never from the first sample the console happened to
see, which for a short job falls near its end (a 24.5 MB job of 3.9 s was once shown at
18.1 kB/s). ``waiting``: each retry wait under way (what the server answered, when the
next try is, how much of the retry budget is left), shown while it lasts.
"""

import json
import threading
import time
from collections import deque
from pathlib import Path

from .text import human_bytes, human_duration, human_rate

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


def _number(value) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class Download:
    """One job's download as last seen in its progress file."""

    def __init__(self, data: dict, first_print: float):
        self.name = str(data.get("name") or "download")
        self.bytes = 0
        self.received = 0  # by the job itself (``bytes`` without what was there before)
        self.total = None
        self.started = None
        self.updated = None
        self.waiting: list[dict] = []
        self.samples = deque()  # (updated, received)
        self.next_print = first_print
        self.update(data)

    def update(self, data: dict) -> None:
        self.name = str(data.get("name") or self.name)
        self.bytes = int(data.get("bytes") or 0)
        # a job of an older contract, without "received": everything counts as received
        received = _number(data.get("received"))
        self.received = int(received) if received is not None else self.bytes
        total = data.get("total")
        self.total = int(total) if isinstance(total, int | float) and total > 0 else None
        self.started = _number(data.get("started")) or self.started
        waiting = data.get("waiting")
        self.waiting = (
            [w for w in waiting if isinstance(w, dict)] if isinstance(waiting, list) else []
        )
        updated = _number(data.get("updated"))
        if updated is None:
            return
        self.updated = updated
        if not self.samples or self.samples[-1][0] < updated:
            self.samples.append((updated, self.received))
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
        """Mean bytes per second of the job: what it received itself over its own clock,
        from its start to its last sample (``end`` only when no sample has a time)."""
        end = self.updated or end
        if self.started and end and end - self.started > 0:
            return max(0.0, self.received / (end - self.started))
        return None

    def wait_keys(self) -> list[tuple]:
        """Which wait each of :meth:`waits` is (a file's failed try)."""
        return [(w.get("file"), w.get("try")) for w in self.waiting]

    def waits(self, now: float | None = None) -> list[str]:
        """One line per retry wait under way: ``NAME: HTTP 500 Internal Server Error (try 4);
        next try in 8 s, 3 min 12 s of the retry budget left``."""
        now = time.time() if now is None else now
        lines = []
        for w in self.waiting:
            answer = str(w.get("answer") or "a failed try")
            tried = f" (try {int(w['try'])})" if _number(w.get("try")) is not None else ""
            nxt, ends = _number(w.get("next_try")), _number(w.get("budget_ends"))
            when = ""
            if nxt is not None:
                when = f"next try in {human_duration(nxt - now)}" if nxt > now else "trying again"
            left = ""
            if ends is not None:
                left = f"{human_duration(max(0.0, ends - now))} of the retry budget left"
                tries = _number(w.get("tries_left"))
                left += f" ({int(tries)} tries)" if tries is not None else ""
            tail = ", ".join(x for x in (when, left) if x)
            lines.append(
                f"{w.get('file') or self.name}: {answer}{tried}" + (f"; {tail}" if tail else "")
            )
        return lines

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
