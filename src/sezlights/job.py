"""Glue between Snakemake ``script:`` jobs and the package.

:func:`run_step` sends the job's logging and Python warnings to its rule's ``log:``
file, and ends the job in one of three ways:

- success;
- a :class:`~sezlights.errors.UserError` (something the user can fix): exit status
  1, and the last line of the log is ``ERROR <message>`` (the console prints it
  last, see ``snakemake_logger_plugin_sezlights``);
- a full disk (``ENOSPC`` anywhere, also deep inside GDAL): turned into a
  :class:`~sezlights.errors.DiskFullError` that names the path (the error's own, else
  the last one the step noted with :func:`sezlights.disk.expect_disk`, else the job's
  first output), the free space there and what the step needs (see :mod:`sezlights.disk`);
- anything else is a bug: its traceback goes to the log, then the last line says
  so and where the log is, and the exception is re-raised;
- Ctrl-C (SIGINT to the process group, as a terminal sends it to Snakemake and its jobs):
  no traceback; the log's last line is ``INTERRUPTED <what is kept>`` and the job exits
  at once with status 130 (:data:`INTERRUPTED_STATUS`), without waiting for its threads
  (a download stalled on a socket would otherwise hold it up to its timeout). What it
  was writing is cleaned up first (atomic writes remove their temporary files); the
  console says once that the run was interrupted.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from . import disk
from .errors import UserError
from .peakrss import PeakRSS


def _first_output(snakemake) -> str | None:
    outputs = getattr(snakemake, "output", None)
    return str(outputs[0]) if outputs is not None and len(outputs) else None


_HANDLER: logging.Handler | None = None
INTERRUPTED_STATUS = 130  # 128 + SIGINT, what a shell reports for a Ctrl-C
INTERRUPTED = "INTERRUPTED"  # the log's last line on Ctrl-C: ``INTERRUPTED <text>``


def note(text: str) -> None:
    """Something the person running the pipeline should read (a republished file, a tile
    the server lacks): a ``NOTE <text>`` line in the job's log, which the console shows
    when the job ends, and a warning in the log."""
    one = " ".join(str(text).split())
    logging.getLogger("sezlights.note").warning("%s", one)
    if isinstance(_HANDLER, logging.FileHandler) and _HANDLER.stream is not None:
        _HANDLER.acquire()  # through the handler's own stream: its next lines follow
        try:
            _HANDLER.stream.write(f"NOTE {one}\n")
            _HANDLER.flush()
        finally:
            _HANDLER.release()
    else:
        print(f"NOTE {one}", file=sys.stderr, flush=True)


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
    global _HANDLER
    _HANDLER = handler
    for noisy in ("urllib3", "rasterio", "fiona", "pyogrio", "authlib", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler


def _last_line(handler: logging.Handler | None, text: str, kind: str = "ERROR") -> None:
    """Write ``ERROR <text>`` as the log's last line (plain, for the console to show)."""
    line = f"{kind} " + " ".join(text.split())
    if isinstance(handler, logging.FileHandler):
        handler.flush()
        with open(handler.baseFilename, "a", encoding="utf-8") as f:
            f.write(line + "\n")
    else:
        print(line, file=sys.stderr, flush=True)


def check_own_package(snakemake) -> None:
    """In a job environment Snakemake made (``--sdm conda``: the environment's post-deploy
    script lies beside it), the sezlights package must be that of the workflow the job
    runs: two checkouts sharing a ``--conda-prefix`` share its environments (Snakemake
    names them by their files' content), and one would silently run the other's code."""
    scriptdir = getattr(snakemake, "scriptdir", None)
    if not scriptdir or not Path(sys.prefix + ".post-deploy.sh").exists():
        return
    own = Path(scriptdir).resolve().parents[1] / "src" / "sezlights"
    used = Path(__file__).resolve().parent
    if own.is_dir() and own.resolve() != used:
        raise UserError(
            f"this job's conda environment {sys.prefix} has the sezlights package of "
            f"{used.parents[1]}, not that of the workflow it runs ({own.parents[1]}): it was "
            "made for another checkout sharing the conda prefix; give this checkout a "
            "--conda-prefix of its own, or delete that environment, and run again."
        )


def _interrupted(handler: logging.Handler | None) -> None:
    """Ctrl-C: one line in the log, no traceback, and out now (status 130)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C changes nothing now
    try:
        _last_line(
            handler,
            "interrupted (Ctrl-C); what was complete is kept (downloads keep their part "
            "files), and running again resumes",
            INTERRUPTED,
        )
    finally:
        os._exit(INTERRUPTED_STATUS)  # no wait for worker threads, nor a traceback


def _quiet_interrupt(kind, value, tb) -> None:
    """An uncaught Ctrl-C before :func:`run_step` (while a script imports): no traceback."""
    if issubclass(kind, KeyboardInterrupt):
        os._exit(INTERRUPTED_STATUS)
    sys.__excepthook__(kind, value, tb)


def quiet_interrupts() -> None:
    """Ctrl-C ends this job without a traceback, from now on (the scripts import this
    module before their work starts; :func:`run_step` does it again)."""
    sys.excepthook = _quiet_interrupt


quiet_interrupts()


def _log_peak(peak: PeakRSS) -> None:
    """The job's real peak memory, in its log (see :mod:`sezlights.peakrss`)."""
    try:
        logging.getLogger("sezlights.peak").info("%s", peak.describe(peak.stop()))
    except Exception as exc:  # a measurement never fails the job
        logging.getLogger("sezlights.peak").debug("peak RSS not measured: %s", exc)


def run_step(snakemake, step: Callable[[], None]) -> None:
    disk.forget()
    quiet_interrupts()
    log_path = snakemake.log[0] if len(snakemake.log) else None
    # a Ctrl-C between the log's creation and the `try` would leave it empty: noted
    # (Python runs signal handlers in the main thread, whichever thread the signal
    # reached) and raised once the handler below can write the log's last line
    held: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    handler = setup_logging(log_path)
    log = logging.getLogger(f"sezlights.{snakemake.rule}")
    peak = PeakRSS().start()
    try:
        signal.signal(signal.SIGINT, previous)
        if held:
            raise KeyboardInterrupt
        check_own_package(snakemake)
        step()
        _log_peak(peak)
    except KeyboardInterrupt:
        _interrupted(handler)
    except UserError as exc:
        _log_peak(peak)
        _last_line(handler, str(exc))
        sys.exit(1)
    except Exception as exc:
        _log_peak(peak)
        if disk.is_disk_full(exc):
            path = disk.path_of(exc)
            if path is None and not disk.noted():  # e.g. GDAL's message: name the job's output
                path = _first_output(snakemake)
            _last_line(handler, str(disk.disk_full_error(path)))
            sys.exit(1)
        log.exception("unexpected error in rule %s", snakemake.rule)
        _last_line(
            handler,
            f"unexpected error in rule {snakemake.rule} (a bug: please report it with "
            f"{log_path or 'the output above'})",
        )
        raise


def download_settings(snakemake) -> dict:
    """``download.*``: the one block of the config a job reads without a param. These
    settings say how files are fetched (timeouts, retries, where copies are kept), never
    what they hold, so a change must not rerun downloads or statistics, as a param
    would; every other setting a job reads is a param Snakemake tracks
    (tests/test_settings.py checks both)."""
    return dict(snakemake.config.get("download", {}))


def source_of(snakemake):
    """The job's source, from its params (``source``: its name and own settings) and
    the few run-wide settings sources share: ``download.*`` (:func:`download_settings`)
    and ``stats.min_cloud_free`` from the job's params only, so that Snakemake reruns a
    job that reads it when it changes (a job without that param reads no band, and gets
    the schema's default)."""
    import dataclasses

    from . import sources

    p = snakemake.params.source
    shared = sources.Shared(download=download_settings(snakemake))
    threshold = getattr(snakemake.params, "min_cloud_free", None)
    if threshold is not None:
        shared = dataclasses.replace(shared, min_cloud_free=float(threshold))
    return sources.make(p["name"], p["settings"], shared)
