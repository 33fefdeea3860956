"""Reading Snakemake's log records: their text, and whether Snakemake itself wrote them."""

import os

import snakemake_interface_logger_plugins

_SITE = os.path.dirname(
    os.path.dirname(os.path.abspath(snakemake_interface_logger_plugins.__file__))
)


def message(record) -> str:
    try:
        return str(record.getMessage())
    except Exception:
        return str(getattr(record, "msg", ""))


def from_snakemake(record) -> bool:
    """Whether a record comes from Snakemake or one of its plugins (not from the workflow)."""
    path = os.path.abspath(getattr(record, "pathname", "") or "")
    if not path.startswith(_SITE + os.sep):
        return False
    return path[len(_SITE) + 1 :].startswith("snakemake")


def steps(n) -> str:
    return f"{n} step" if n == 1 else f"{n} steps"
