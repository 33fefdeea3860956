"""Nothing happens while the workflow is parsed: planning that needs the servers is done
by jobs (find_latest_month, list_month_files), so `snakemake -n`, `--lint` and `--report`
work offline, without credentials, and change no file; parsing makes no request and sets
no environment variable for jobs to read (but SEZLIGHTS_SOURCE, which each process works
out from its own Snakefile for the conda post-deploy scripts)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import REPO, eog_env, set_months, snakemake, workflow_dir

pytestmark = pytest.mark.workflow

NO_LOGIN = tuple(eog_env())  # every credential the run could use, unset


def tree_state(work: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``work`` but Snakemake's own bookkeeping (.snakemake/) and the
    report a --report writes: size and modification time."""
    out = {}
    for p in work.rglob("*"):
        rel = p.relative_to(work)
        if p.is_file() and rel.parts[0] != ".snakemake" and rel.name != "report.html":
            st = p.stat()
            out[str(rel)] = (st.st_size, st.st_mtime_ns)
    return out


@pytest.mark.parametrize("end", ["2019-02", "latest"])
def test_dry_run_lint_and_report_work_offline_and_change_nothing(
    eog_server, earthdata_server, tmp_path, end
):
    work = workflow_dir(tmp_path, eog_server, earthdata_server, sources=["eog", "blackmarble"])
    set_months(work, "2019-01", end)
    snakemake(work)
    before = tree_state(work)
    assert "results/zonal_stats.csv" in before
    if end != "latest":
        # months fixed: `--lint` parses the workflow only, and `-n` on a finished run plans
        # from the files; with the servers up and the credentials set, neither makes a
        # request (the stand-ins' logs stay empty)
        eog_server.reset_log()
        earthdata_server.reset_log()
        snakemake(work, "--lint", profile=None, cores=None)
        snakemake(work, "-n", profile=None, cores=None)
        assert eog_server.requests == [] and earthdata_server.requests == []
        assert tree_state(work) == before
    eog_server.stop()
    earthdata_server.stop()  # every server down
    for args in (("-n",), ("--lint",), ("--report", "report.html")):
        p = snakemake(work, *args, check=False, drop=NO_LOGIN, profile=None, cores=None)
        assert p.returncode == 0, (args, p.stdout[-2000:], p.stderr[-3000:])
        assert tree_state(work) == before, args
        if args[0] == "-n":
            assert "Nothing to be done" in p.stdout + p.stderr
    assert (work / "report.html").stat().st_size > 100_000
    html = (work / "report.html").read_text(errors="replace")
    assert "zonal_stats.csv" in html  # a whole report: the DAG behind the checkpoints too


def test_parsing_sets_no_variable_for_jobs(eog_server, tmp_path):
    """A Snakefile that includes the workflow and prints, once it is parsed, the
    SEZLIGHTS_* variables of its process: only SEZLIGHTS_SOURCE (the checkout, for the
    conda post-deploy scripts), whatever months.end says."""
    work = workflow_dir(tmp_path, eog_server)
    set_months(work, "2019-01", "latest")
    (work / "inspect.smk").write_text(
        'include: "workflow/Snakefile"\n'
        "import json, os, sys\n"
        "print('ENV ' + json.dumps(sorted(k for k in os.environ if k.startswith('SEZLIGHTS_'))),"
        " file=sys.stderr)\n"
    )
    ours = [k for k in os.environ if k.startswith("SEZLIGHTS_")]  # e.g. CI's SEZLIGHTS_SLURM
    p = snakemake(work, "-s", "inspect.smk", "-n", profile=None, cores=None, drop=ours)
    (line,) = [ln for ln in (p.stdout + p.stderr).splitlines() if ln.startswith("ENV ")]
    assert json.loads(line[4:]) == ["SEZLIGHTS_SOURCE"]
    assert not (work / "results").exists() and not (work / "resources").exists()


def test_no_rule_file_writes_or_lists_at_parse_time():
    """What made parsing do work is gone: the parse-time listings, the module-level
    fingerprint handed to jobs in an environment variable, the S3 patch at import."""
    rules = {p.name: p.read_text() for p in (REPO / "workflow/rules").glob("*.smk")}
    assert "listings.smk" not in rules
    text = "\n".join(rules.values()) + (REPO / "workflow/Snakefile").read_text()
    assert "register_envvars" not in text
    assert text.count("os.environ[") == 1  # SEZLIGHTS_SOURCE, in common.smk
    assert "\ns3_directories_seen_after_jobs()" not in text  # only in onstart
