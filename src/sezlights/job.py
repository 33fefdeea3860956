"""Glue between Snakemake ``script:`` jobs and the package.

:func:`run_step` sends the job's logging and Python warnings to its rule's ``log:``
file, and ends the job in one of three ways:

- success;
- a :class:`~sezlights.errors.UserError` (something the user can fix): exit status
  1, and the last line of the log is ``ERROR <message>`` (the console prints it
  last, see ``snakemake_logger_plugin_sezlights``);
- a full disk (``ENOSPC`` anywhere, also deep inside GDAL): turned into a
  :class:`~sezlights.errors.DiskFullError` that names the path (the error's own, else
  the last one the step noted with :func:`expect_disk`, else the job's first output),
  the free space there and what the step needs (:func:`expect_disk`);
- anything else is a bug: its traceback goes to the log, then the last line says
  so and where the log is, and the exception is re-raised.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from .errors import DiskFullError, UserError

_expected: dict[str, int] = {}


def expect_disk(path: str | os.PathLike, nbytes: int) -> None:
    """Note that this step will write about ``nbytes`` under ``path`` (for messages)."""
    _expected.pop(str(path), None)  # the latest note comes last
    _expected[str(path)] = int(nbytes)


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def free_bytes(path: str | os.PathLike) -> int:
    """Free bytes on the file system of the folder that holds (or would hold) ``path``."""
    p = Path(os.path.abspath(path))
    while not p.is_dir():  # a file (or a link to one) or a path not made yet: its folder
        p = p.parent
    return shutil.disk_usage(p).free


def _expected_for(path: str | os.PathLike) -> int | None:
    """What :func:`expect_disk` noted for ``path`` or the closest folder above it."""
    p = Path(os.path.abspath(path))
    for candidate in (p, *p.parents):
        for noted, n in _expected.items():
            if Path(os.path.abspath(noted)) == candidate:
                return n
    return None


def disk_full_error(path: str | os.PathLike | None, need: int | None = None) -> DiskFullError:
    """The message for running out of disk while writing ``path``."""
    if path is None and _expected:
        path = next(reversed(_expected))  # the last thing this step said it would write
    where = f"writing {path}" if path else "writing this step's output"
    free = f"{human_bytes(free_bytes(path or '.'))} free there"
    if need is None and path is not None:
        need = _expected_for(path)
    needs = f"; this step needs about {human_bytes(need)}" if need else ""
    return DiskFullError(
        f"out of disk space {where} ({free}{needs}): free some space on that disk "
        "(or move the working directory to a larger one) and run again."
    )


def _disk_full(exc: BaseException) -> bool:
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return True
        if "No space left on device" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _path_of(exc: BaseException):
    while exc is not None:
        if isinstance(exc, OSError) and exc.filename:
            return exc.filename
        exc = exc.__cause__ or exc.__context__
    return None


def _first_output(snakemake) -> str | None:
    outputs = getattr(snakemake, "output", None)
    return str(outputs[0]) if outputs is not None and len(outputs) else None


def setup_logging(log_path: str | None) -> logging.Handler | None:
    handler: logging.Handler
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_path, mode="w", encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=[handler],
        force=True,
    )
    logging.captureWarnings(True)
    for noisy in ("urllib3", "rasterio", "fiona", "pyogrio", "authlib", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler


def _last_line(handler: logging.Handler | None, text: str) -> None:
    """Write ``ERROR <text>`` as the log's last line (plain, for the console to show)."""
    line = "ERROR " + " ".join(text.split())
    if isinstance(handler, logging.FileHandler):
        handler.flush()
        with open(handler.baseFilename, "a", encoding="utf-8") as f:
            f.write(line + "\n")
    else:
        print(line, file=sys.stderr, flush=True)


def run_step(snakemake, step: Callable[[], None]) -> None:
    _expected.clear()
    log_path = snakemake.log[0] if len(snakemake.log) else None
    handler = setup_logging(log_path)
    log = logging.getLogger(f"sezlights.{snakemake.rule}")
    try:
        step()
    except UserError as exc:
        _last_line(handler, str(exc))
        sys.exit(1)
    except Exception as exc:
        if _disk_full(exc):
            path = _path_of(exc)
            if path is None and not _expected:  # e.g. GDAL's message: name the job's output
                path = _first_output(snakemake)
            _last_line(handler, str(disk_full_error(path)))
            sys.exit(1)
        log.exception("unexpected error in rule %s", snakemake.rule)
        _last_line(
            handler,
            f"unexpected error in rule {snakemake.rule} (a bug: please report it with "
            f"{log_path or 'the output above'})",
        )
        raise
