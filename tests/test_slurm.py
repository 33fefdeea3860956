"""The demo pipeline on a real Slurm cluster (`--profile profiles/slurm`) against a local run.

Needs the one-node cluster that `.ci/slurm-up.sh` starts on this machine (CI runs it
before `make test`). Without a cluster the test skips and says why; when CI did
start one (``SEZLIGHTS_SLURM=up``), a cluster that is not answering is a failure.
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from helpers import (
    CLIENT_SECRET,
    PASSWORD,
    REPO,
    USER,
    edit_config,
    files_containing,
    full_log,
    set_months,
    snakemake,
    workflow_dir,
)

pytestmark = [pytest.mark.slurm, pytest.mark.workflow, pytest.mark.serial]

ACCOUNT = os.environ.get("SLURM_UP_ACCOUNT", "sezlights")
PARTITION = os.environ.get("SLURM_UP_PARTITION", "batch")
TIMING = REPO / "tests/artifacts/slurm-timing.json"
# The jobs the demo submits: everything but the localrules (prepare_zones,
# list_month_files, combine_zone_stats, record_where_results_are and the report's tables).
EXPECTED_JOBS = {
    "download_month_files": 3,  # one job a month, fetching its 4 tiles (of 6)
    "index_zone_pixels": 1,
    "compute_zone_stats": 3,
    "mosaic_month": 3,  # this test keeps every month's mosaic
    "plot_zone_timeseries": 1,
    "map_zones_latest_month": 1,
}


def _run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


def _cluster_problem() -> str | None:
    """None when the local cluster takes jobs and keeps accounts, else what is wrong."""
    for tool in ("sbatch", "sinfo", "sacct"):
        if shutil.which(tool) is None:
            return f"{tool} not found"
    try:
        state = _run("sinfo", "-h", "-p", PARTITION, "-o", "%t").stdout.split()
        if not {"idle", "mix", "alloc"} & set(state):
            return f"no node up in partition {PARTITION!r} (sinfo: {state or 'nothing'})"
        acct = _run("sacct", "-X", "-n", "-S", "now-1minutes")
        if acct.returncode != 0:
            return f"sacct fails: {acct.stderr.strip()}"
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"Slurm does not answer: {exc}"
    return None


@pytest.fixture(scope="module")
def slurm_cluster():
    problem = _cluster_problem()
    if problem is None:
        return
    ci = os.environ.get("SEZLIGHTS_SLURM", "")
    if ci == "up":
        pytest.fail(f".ci/slurm-up.sh started a Slurm cluster, but now: {problem}")
    why = ci.removeprefix("unavailable:").strip() or "it was not started"
    pytest.skip(
        f"no local Slurm cluster ({problem}); .ci/slurm-up.sh could not start one: {why}. "
        "Start one as root with `bash .ci/slurm-up.sh`."
    )


def _sacct_jobs(workdir: Path, since: str) -> list[dict]:
    """Accounting records of the batch jobs that ran in ``workdir``."""
    fields = "JobIdRaw,State,Account,Partition,WorkDir,Comment,ExitCode,SubmitLine"
    p = _run(
        "sacct", "-X", "-a", "--parsable2", "--noheader", "-S", since, "-E", "now",
        f"--format={fields}",
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    rows = csv.DictReader(io.StringIO(p.stdout), fieldnames=fields.split(","), delimiter="|")
    return [r for r in rows if Path(r["WorkDir"]) == workdir]


def _wait_for_accounting(workdir: Path, since: str, n: int) -> list[dict]:
    """slurmdbd may record the last jobs' end a moment after Snakemake has seen it."""
    deadline = time.time() + 60
    while True:
        jobs = _sacct_jobs(workdir, since)
        done = [j for j in jobs if j["State"] not in ("PENDING", "RUNNING", "COMPLETING")]
        if len(done) >= n or time.time() > deadline:
            return jobs
        time.sleep(1)


def _rules(jobs: list[dict]) -> dict[str, int]:
    """Jobs per rule, from the comment the executor gives each job."""
    rules: dict[str, int] = {}
    for j in jobs:
        rule = j["Comment"].removeprefix("rule_").split("_wildcards_")[0]
        rules[rule] = rules.get(rule, 0) + 1
    return rules


def _outputs(work: Path) -> dict[str, bytes]:
    paths = [work / "results/zonal_stats.csv", *sorted((work / "results/stats").rglob("*.csv"))]
    return {str(p.relative_to(work)): p.read_bytes() for p in paths}


def test_slurm_run_matches_local_run(slurm_cluster, eog_server, tmp_path):
    tile_server = eog_server
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 5))

    local = workflow_dir(tmp_path / "local", tile_server, mosaic={"keep": True})
    t0 = time.monotonic()
    snakemake(local)
    local_s = time.monotonic() - t0

    # Partition and account reach the profile the way a user gives them: SBATCH_*.
    # Status checks every second instead of the plugin's 40 s (a real cluster's
    # accounting would not thank us for that; a demo's jobs last seconds).
    work = workflow_dir(tmp_path / "slurm", tile_server, mosaic={"keep": True})
    t0 = time.monotonic()
    fast_checks = (
        "--seconds-between-status-checks", "1",
        "--slurm-init-seconds-before-status-checks", "1",
    )  # fmt: skip
    on_slurm = {
        "profile": "profiles/slurm",
        "cores": None,
        "env": {"SBATCH_ACCOUNT": ACCOUNT, "SBATCH_PARTITION": PARTITION},
        "timeout": 1200,
    }
    p = snakemake(work, *fast_checks, "--slurm-keep-successful-logs", **on_slurm)
    slurm_s = time.monotonic() - t0

    # the same numbers, byte for byte
    ref, got = _outputs(local), _outputs(work)
    assert len(got) == 1 + 3
    assert got.keys() == ref.keys()
    for rel in ref:
        assert got[rel] == ref[rel], f"{rel} differs between the Slurm and the local run"

    # every non-local job went through Slurm, to the partition and account asked for
    n = sum(EXPECTED_JOBS.values())
    jobs = _wait_for_accounting(work, since, n)
    assert _rules(jobs) == EXPECTED_JOBS, f"sacct: {jobs}"
    for j in jobs:
        assert (j["State"], j["ExitCode"]) == ("COMPLETED", "0:0"), j
        assert (j["Account"], j["Partition"]) == (ACCOUNT, PARTITION), j
        # credentials travel in the job environment, never on a command line
        assert PASSWORD not in j["SubmitLine"] and USER not in j["SubmitLine"]
        assert CLIENT_SECRET not in j["SubmitLine"]
    assert "has been submitted with SLURM jobid" in full_log(work)
    logdir = work / ".snakemake/slurm_logs"  # rule_{name}/[{wildcards}/]{jobid}.log
    logs = [p.relative_to(logdir).parts[0] for p in logdir.rglob("*.log")]
    assert sorted(logs) == sorted(f"rule_{r}" for r, k in EXPECTED_JOBS.items() for _ in range(k))
    # downloads ran in Slurm jobs against the tile server on 127.0.0.1
    assert len(tile_server.file_gets()) == 2 * 4 * 3

    # one month more, with download.local (compute nodes without internet): the
    # new month's tiles are fetched by the Snakemake process, the rest on Slurm
    set_months(local, "2019-01", "2019-04")
    snakemake(local)
    set_months(work, "2019-01", "2019-04")
    edit_config(work, lambda cfg: cfg["download"].update(local=True))
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 1))
    snakemake(work, *fast_checks, **on_slurm)
    ref, got = _outputs(local), _outputs(work)
    assert len(got) == 1 + 4 and got == ref
    extension = {
        "compute_zone_stats": 1,
        "mosaic_month": 1,
        "plot_zone_timeseries": 1,
        "map_zones_latest_month": 1,
    }
    jobs = _wait_for_accounting(work, since, sum(extension.values()))
    assert _rules(jobs) == extension, f"sacct: {jobs}"
    assert len(tile_server.file_gets()) == 2 * 4 * 4

    # a second run does nothing
    p = snakemake(work, **on_slurm)
    assert "Nothing to be done" in p.stdout + p.stderr

    assert files_containing(work, PASSWORD, CLIENT_SECRET) == []

    timing = {
        "what": "demo pipeline (3 months x 4 tiles, config/demo.yaml), clean run, wall time",
        "local_s": round(local_s, 1),
        "slurm_s": round(slurm_s, 1),
        "local": "--profile profiles/laptop --cores 2",
        "slurm": "--profile profiles/slurm, one-node cluster from .ci/slurm-up.sh, "
        "status checks every 1 s",
        "slurm_jobs": n,
        "slurm_version": _run("sinfo", "--version").stdout.strip(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    TIMING.parent.mkdir(exist_ok=True)
    TIMING.write_text(json.dumps(timing, indent=2) + "\n")
    print(f"\nwall time: local {local_s:.1f}s, Slurm {slurm_s:.1f}s ({n} Slurm jobs)")
