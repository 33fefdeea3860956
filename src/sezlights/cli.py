"""Glue between Snakemake ``script:`` jobs and the package.

:func:`run_step` sends logging to the rule's ``log:`` file (and stderr), and turns
a :class:`~sezlights.errors.UserError` into one clear line and exit status 1,
without a traceback. Any other exception is logged with its traceback and
re-raised: it is a bug, not something the user did.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from .errors import UserError


def setup_logging(log_path: str | None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        handlers.append(logging.FileHandler(log_path, mode="w"))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    for noisy in ("urllib3", "rasterio", "fiona", "pyogrio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run_step(snakemake, step: Callable[[], None]) -> None:
    log_path = snakemake.log[0] if len(snakemake.log) else None
    setup_logging(log_path)
    log = logging.getLogger(f"sezlights.{snakemake.rule}")
    try:
        step()
    except UserError as exc:
        log.error("%s", exc)
        sys.exit(1)
    except Exception:
        log.exception(
            "unexpected error in rule %s (a bug: please report it with this log)", snakemake.rule
        )
        raise
