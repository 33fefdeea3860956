"""The console's lines and the run's start-up checks, without Snakemake runs (the runs are in
test_console.py and test_new_user.py)."""

from __future__ import annotations

from sezlights.executors import missing_commands
from snakemake_logger_plugin_sezlights.text import clean_exception, final_line, one_line

# ---------------------------------------------------------------- Slurm without Slurm (item 6)


def test_slurm_needs_sbatch_and_one_way_to_follow_jobs():
    have = {"sbatch", "squeue"}
    assert missing_commands("slurm", lambda c: c if c in have else None) is None
    none = missing_commands("slurm", lambda c: None)
    assert "sbatch, sacct, squeue are not found" in none
    assert none.endswith("or run here with --profile profiles/laptop instead.")
    only_sbatch = missing_commands("slurm", lambda c: c if c == "sbatch" else None)
    assert "sacct, squeue are not found" in only_sbatch
    assert missing_commands("local", lambda c: None) is None
    assert missing_commands(None, lambda c: None) is None


def test_a_cluster_error_loses_snakemakes_glued_sentence():
    text = (
        "Job submission failed with exception: [Errno 2] No such file or directory: 'sacct'"
        "For further error details see the cluster/cloud log and the log files of the "
        "involved rule(s)."
    )
    assert one_line(text).endswith("No such file or directory: 'sacct'")
    assert "For further" not in final_line(clean_exception(text))
