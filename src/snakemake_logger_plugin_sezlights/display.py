"""Where the console's lines go: plain lines on stderr, or rich with a live status on a TTY."""

import os
import sys
import time
from dataclasses import dataclass, field

from .text import human_bytes, human_duration, human_rate


@dataclass(frozen=True)
class View:
    """What the live status shows (an immutable snapshot, read by rich's refresh thread)."""

    done: int = 0
    total: int | None = None
    provisional: bool = False
    started: float = field(default_factory=time.time)
    running: tuple = ()  # (label, start time) of the running jobs without a download
    # (name, bytes, total, percent, rate, retry waits) of the running downloads
    downloads: tuple = ()


def stderr_is_terminal() -> bool:
    if os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed
        return False


class PlainDisplay:
    """Lines on stderr, nothing else (pipes, CI, tests)."""

    live = False

    def start(self) -> None:
        pass

    def line(self, text: str) -> None:
        stream = sys.stderr
        stream.write(text + "\n")
        stream.flush()

    def stop(self) -> None:
        pass


class RichDisplay:
    """Lines printed above a live status (overall progress, running downloads) on a TTY."""

    live = True
    MAX_ROWS = 6

    def __init__(self, view, nocolor: bool = False):
        from rich.console import Console

        self._view = view  # callable returning the current View
        self.console = Console(stderr=True, no_color=nocolor, highlight=False)
        self._live = None

    def start(self) -> None:
        if self._live is not None:
            return
        from rich.live import Live

        self._live = Live(
            get_renderable=self._render,
            console=self.console,
            transient=True,
            refresh_per_second=4,
        )
        self._live.start()

    def line(self, text: str) -> None:
        from rich.text import Text

        self.console.print(Text(text), soft_wrap=True)

    def stop(self) -> None:
        if self._live is not None:
            live, self._live = self._live, None
            live.stop()

    def _render(self):
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        view = self._view()
        now = time.time()
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True)
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="ellipsis", no_wrap=True)
        total = view.total or 0
        steps = f"{view.done}/{total}{'+' if view.provisional else ''} steps"
        grid.add_row(
            ProgressBar(total=max(total, 1), completed=min(view.done, total), width=30),
            Text(steps, style="bold"),
            Text(f"{human_duration(now - view.started)}", style="dim"),
        )
        shown, retries = 0, []
        for name, done, size, percent, rate, waits in view.downloads[: self.MAX_ROWS]:
            amount = human_bytes(done) + (f" / {human_bytes(size)}" if size else "")
            pct = f"{percent:3.0f}%" if percent is not None else "    "
            bar = (
                ProgressBar(total=size, completed=min(done, size), width=30)
                if size
                else ProgressBar(total=None, width=30, pulse=True)
            )
            grid.add_row(bar, Text(f"{pct} {human_rate(rate)}"), Text(f"{name}  {amount}"))
            # a retry wait: what the server answered, the next try, the budget left (below
            # the table, on lines of their own: long lines would squeeze its columns)
            retries += [
                Text(f"  retrying {line}", style="yellow", no_wrap=True, overflow="ellipsis")
                for line in waits
            ]
            shown += 1 + len(waits)
        rows_left = self.MAX_ROWS - shown
        for label, start in view.running[: max(rows_left, 0)]:
            grid.add_row(Text("  running", style="dim"), Text(human_duration(now - start)), label)
        hidden = len(view.downloads[self.MAX_ROWS :]) + max(
            0, len(view.running) - max(rows_left, 0)
        )
        if hidden > 0:
            grid.add_row(Text(""), Text(""), Text(f"… and {hidden} more", style="dim"))
        return Group(grid, *retries)
