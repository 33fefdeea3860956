"""What an executor needs on the machine Snakemake runs on, checked before any job.

A profile whose executor submits jobs through a scheduler's commands (``executor: slurm``
in ``profiles/slurm``) fails at the first submission, with a traceback per job, when those
commands are not there (a laptop, a node without Slurm's client tools). The workflow's
onstart asks :func:`missing_commands` first, and stops with one line instead.

snakemake-executor-plugin-slurm 2.8.0 submits with ``sbatch``, follows the jobs with
``sacct`` (or ``squeue`` where accounting is off), guesses the account with ``sacct``
when none is given, and cancels with ``scancel``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable

# executor plugin: (commands it cannot submit without, commands of which it needs one)
NEEDS = {
    "slurm": (("sbatch",), ("sacct", "squeue")),
}


def missing_commands(executor: str | None, which: Callable[[str], str | None] = shutil.which):
    """The one-line message for an executor whose commands are not on PATH, else None."""
    if executor not in NEEDS:
        return None
    required, one_of = NEEDS[executor]
    missing = [c for c in required if which(c) is None]
    if one_of and all(which(c) is None for c in one_of):
        missing += list(one_of)
    if not missing:
        return None
    return (
        f"the {executor} executor (profiles/{executor}) submits jobs with Slurm's commands, but "
        f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not found on this machine's "
        "PATH, so no job was submitted: run snakemake on the cluster's login node (where "
        "Slurm's commands are), or run here with --profile profiles/laptop instead."
    )
