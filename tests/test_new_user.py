"""What a new user still tripped on (issue 21), through real Snakemake runs: a run that
ends right, or on one line saying what to do.

Each test failed on the `refactor` branch as issue 21 began (see the report of issue 21);
the unit tests of the same issue are beside their modules' tests (test_zones.py,
test_console.py, test_plots.py, ...).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import (
    edit_config,
    interrupt_when,
    last_line,
    read_table,
    set_months,
    snakemake,
    workflow_dir,
)

pytestmark = pytest.mark.workflow


def printed(work) -> str:
    return (work / "snakemake.out").read_text()


# ---------------------------------------------------------------- Ctrl-C (item 5)


def assert_one_interrupted_line(out: str) -> None:
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert lines[-1].startswith("interrupted (Ctrl-C)"), lines[-3:]
    assert "run the same command again to resume" in lines[-1]
    for noise in ("Traceback", "KeyboardInterrupt", "died with", "SIGINT", "failed:", "error"):
        assert noise not in out, (noise, out[-3000:])
    assert sum("interrupted" in ln.lower() for ln in lines) == 1, lines


@pytest.mark.serial
def test_ctrl_c_during_two_downloads_ends_on_one_line_and_resumes(eog_server, tmp_path):
    """Two months' downloads in flight, each stalled mid-file: Ctrl-C ends the run at
    once (not after the stalled socket's timeout) on one line; the next run resumes the
    part files (HTTP Range) and ends as a whole run does."""
    eog_server.stall_seconds = 60
    for month in ("20190101-20190131", "20190201-20190228"):
        eog_server.add_faults(f"{month}_75N060W", "stall")
    work = workflow_dir(tmp_path, eog_server)
    proc = snakemake(work, wait=False)
    staging = work / "resources/files/eog/.staging"
    took = interrupt_when(
        proc, lambda: len([p for p in staging.glob("*/*75N060W*.part") if p.stat().st_size]) == 2
    )
    assert took < 15, took
    assert_one_interrupted_line(printed(work))
    assert len(list(staging.glob("*/*75N060W*.part"))) == 2  # kept for the next run
    before = len(eog_server.requests)
    p = snakemake(work)  # no --unlock needed
    assert "table: results/zonal_stats.csv" in p.stderr
    # each stalled file is resumed (206), never fetched again from its first byte (200)
    again = eog_server.requests[before:]
    for month in ("20190101-20190131", "20190201-20190228"):
        got = [st for _, q, st in again if f"{month}_75N060W_" in q and q.endswith(".tgz")]
        assert 206 in got and 200 not in got, (month, again)


@pytest.mark.serial
def test_ctrl_c_during_the_statistics_ends_on_one_line(eog_server, tmp_path):
    work = workflow_dir(tmp_path, eog_server)
    snakemake(work)
    logs = work / "logs/stats/eog"
    for f in logs.glob("*.log"):
        f.unlink()
    proc = snakemake(work, "--forcerun", "compute_zone_stats", "--cores", "4", wait=False)
    interrupt_when(proc, lambda: len(list(logs.glob("*.log"))) >= 2)
    assert_one_interrupted_line(printed(work))
    # each log ends on one line: INTERRUPTED, or (a job that ended before the Ctrl-C
    # reached it: a month's statistics take well under a second here) the peak memory
    # line every whole job ends on; at least one job was cut off
    ends = []
    for f in logs.glob("*.log"):
        text = f.read_text()
        assert "Traceback" not in text
        ends.append(text.rstrip().splitlines()[-1])
    assert any(e.startswith("INTERRUPTED ") for e in ends), ends
    for e in ends:
        assert e.startswith("INTERRUPTED ") or "peak RSS of the job's processes" in e, ends
    # item 4: the per-month tables the interrupted --forcerun deleted come back
    p = snakemake(work)
    assert "Nothing to be done" not in p.stderr
    for month in ("2019-01", "2019-02", "2019-03"):
        assert (work / f"results/stats/eog/{month}.csv").exists(), month
    assert "per-month tables missing" not in p.stderr
    assert last_line(p).startswith("report:")


# ---------------------------------------------------------------- Slurm without Slurm (item 6)

SLURM_COMMANDS = ("sbatch", "sacct", "squeue", "scancel", "sinfo", "srun", "scontrol")


def path_without(folder: Path, names) -> str:
    """A PATH of one folder linking every command of this PATH but ``names``."""
    folder.mkdir()
    for d in os.environ.get("PATH", "").split(os.pathsep):
        for f in sorted(Path(d).glob("*")) if Path(d).is_dir() else ():
            link = folder / f.name
            if f.name in names or link.exists() or not (f.is_file() and os.access(f, os.X_OK)):
                continue
            link.symlink_to(f.resolve())
    return str(folder)


def test_slurm_profile_without_slurm_stops_before_any_job(eog_server, tmp_path):
    """profiles/slurm where Slurm's commands are not on PATH (this machine, or any machine
    with a PATH that lacks them): one line naming the profile to use, no job submitted."""
    work = workflow_dir(tmp_path, eog_server)
    path = path_without(tmp_path / "bin", SLURM_COMMANDS)  # a cluster in CI has them
    p = snakemake(work, check=False, profile="profiles/slurm", cores=None, env={"PATH": path})
    assert p.returncode != 0
    out = p.stdout + p.stderr
    assert "Traceback" not in out and "FileNotFoundError" not in out, out[-3000:]
    line = last_line(p)
    assert "sbatch, sacct, squeue are not found" in line, line
    assert "--profile profiles/laptop" in line
    assert not (work / "logs").exists()  # nothing ran, not even the local rules


# ---------------------------------------------------------------- credentials (item 7)


def test_a_wrong_eog_token_beside_the_account_is_named_before_any_job(eog_server, tmp_path):
    work = workflow_dir(tmp_path, eog_server)
    p = snakemake(work, check=False, env={"EOG_TOKEN": "a-stale-token-from-last-week"})
    assert p.returncode != 0
    out = p.stdout + p.stderr
    assert "eog: EOG_TOKEN (a token you got yourself" in out and "it wins over" in out
    line = last_line(p)
    assert "EOG refused EOG_TOKEN" in line and "unset EOG_TOKEN" in line, line
    assert "set EOG_USERNAME" not in line  # they are set: the account logs in once it is unset
    assert not (work / "logs").exists()  # before any job
    assert "Traceback" not in out


def test_a_wrong_earthdata_token_on_ladsweb_is_caught_before_any_job(laads_server, tmp_path):
    from sezlights_standin.earthdata import make_token

    work = workflow_dir(tmp_path, laads_server=laads_server, sources=["blackmarble"])
    wrong = make_token("bob", expires=4102444800)
    p = snakemake(work, check=False, env={"EARTHDATA_TOKEN": wrong})
    assert p.returncode != 0
    assert "LAADS refused EARTHDATA_TOKEN" in last_line(p), last_line(p)
    assert not (work / "logs").exists()
    assert wrong not in p.stdout + p.stderr


# ---------------------------------------------------------------- retries on the console (item 8)


def test_each_retry_wait_is_on_the_console_while_the_server_answers_500(eog_server, tmp_path):
    """A file whose server answers 500 three times: the console (plain lines here; the live
    display shows the same, see test_console_lines.py) says each wait as it starts, with
    what the server answered, the next try and the retry budget left; and the finished
    download's rate is the job's own (issue 19: rates 1000x too low)."""
    import re

    eog_server.add_faults("20190101-20190131_75N060W", "500", "500", "500")
    work = workflow_dir(tmp_path, eog_server)
    set_months(work, "2019-01", "2019-01")
    p = snakemake(work, "results/zonal_stats.csv")  # the table: no report needed here
    waits = [ln for ln in p.stderr.splitlines() if ln.startswith("  retrying ")]
    assert len(waits) == 3, p.stderr
    for n, line in enumerate(waits, start=1):
        assert "_75N060W_vcmcfg_v10_c" in line
        assert f": HTTP 500 Internal Server Error (try {n}); next try in" in line, line
        assert "of the retry budget left" in line
    (done,) = [ln for ln in p.stderr.splitlines() if "Downloading the eog files of 2019-01" in ln]
    m = re.search(r"\((\d+\.\d) s, (\d+\.\d) MB at (\d+\.\d) (kB|MB)/s\)", done)
    assert m, done
    seconds, size, rate = float(m[1]), float(m[2]), float(m[3]) / (1000 if m[4] == "kB" else 1)
    assert rate * seconds >= 0.5 * size, done  # the job's own rate, over at most its time


# ---------------------------------------------------------------- tracked settings (item 3)


def test_changing_min_cloud_free_reruns_the_statistics_and_the_maps(eog_server, tmp_path):
    """stats.min_cloud_free reaches the maps as a param (the map job reads which pixels
    count as observed): Snakemake lists the maps among the outputs whose params changed,
    and the rerun draws them anew (nothing observed at 1000 cloud-free nights)."""
    maps = "results/report/maps/eog"
    work = workflow_dir(tmp_path, eog_server)
    set_months(work, "2019-01", "2019-01")
    snakemake(work, maps)
    before = {p.name: p.read_bytes() for p in (work / maps).glob("*.png")}
    edit_config(work, lambda cfg: cfg.setdefault("stats", {}).update(min_cloud_free=1000))
    p = snakemake(work, "--list-changes", "params", profile=None, cores=None)
    changed = set(p.stdout.split())
    assert maps in changed and "results/stats/eog/2019-01.csv" in changed, p.stdout
    snakemake(work, maps)
    after = {p.name: p.read_bytes() for p in (work / maps).glob("*.png")}
    assert before.keys() == after.keys() and len(before) == 6
    assert all(before[k] != after[k] for k in before)
    table = read_table(work / "results/zonal_stats.csv")
    assert set(table.quality) <= {"no_cloud_free", "outside_coverage"}


# ---------------------------------------------------------------- the demo's last lines (item 12)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_demo_ends_saying_where_the_report_it_built_is(tmp_path, eog_tree, laads_tree):
    """make demo builds the report after the run: the console's closing line says where
    the report will be (not a command to type), and the demo's last line where it is.
    (The demo's synthetic files are the test trees', which it keeps: the same files.)"""
    import shutil
    import subprocess
    import sys

    import yaml
    from helpers import CURRENT_MARKERS, REPO

    assert "workflow" in CURRENT_MARKERS
    work = tmp_path / "clone"
    for d in ("workflow", "profiles", "config"):
        shutil.copytree(REPO / d, work / d, ignore=shutil.ignore_patterns("__pycache__"))
    path = work / "config/demo.yaml"
    cfg = yaml.safe_load(path.read_text())
    eog, cloud = free_port(), free_port()  # not the demo's fixed ports: a demo may be running
    cfg["eog"]["base_url"] = cfg["eog"]["base_url"].replace(":8765/", f":{eog}/")
    cfg["eog"]["auth"]["token_url"] = cfg["eog"]["auth"]["token_url"].replace(":8765/", f":{eog}/")
    for key in ("cmr_url", "cloud_url"):
        cfg["blackmarble"][key] = cfg["blackmarble"][key].replace(":8766/", f":{cloud}/")
    cfg["months"] = {"start": "2019-01", "end": "2019-01"}
    path.write_text(yaml.safe_dump(cfg))
    shutil.copytree(eog_tree, work / "demo-data/eog")
    shutil.copytree(laads_tree, work / "demo-data/laads")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EOG_", "EARTHDATA_"))}
    p = subprocess.run(
        [sys.executable, "-m", "sezlights_standin.demo"], cwd=work, env=env,
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    report = work / "results/report.html"
    assert report.stat().st_size > 100_000
    closing = [ln for ln in p.stderr.splitlines() if ln.startswith("report:")]
    assert closing == ["report: results/report.html (the demo builds it next)"], p.stderr[-2000:]
    assert "--report" not in p.stderr
    last = [ln for ln in p.stdout.splitlines() if ln.strip()][-1]
    assert last == f"demo: done; the report is built: open {report} in a browser"


# ---------------------------------------------------------------- the real peak memory (item 13)

PEAK_SNAKEFILE = """
rule allocate_in_a_child:
    output: "done.txt"
    log: "logs/allocate.log"
    benchmark: "benchmarks/allocate.tsv"
    script: "allocate.py"
"""
# like the statistics job of a 20-degree zone: the peak comes late (after Snakemake's
# benchmark has slowed to a sample every 30 s) and briefly, here in a child process
PEAK_SCRIPT = """
import subprocess, sys, time
from pathlib import Path
from sezlights.job import run_step

CHILD = "import numpy, time; a = numpy.ones(50_000_000); time.sleep(1.5)"  # 400 MB, 1.5 s

def main():
    time.sleep(16.5)
    subprocess.run([sys.executable, "-c", CHILD], check=True)
    Path(snakemake.output[0]).write_text("done")

run_step(snakemake, main)
"""


def test_the_jobs_real_peak_memory_is_in_its_log_where_the_benchmark_misses_it(tmp_path):
    import csv

    work = tmp_path / "peak"
    work.mkdir()
    (work / "Snakefile").write_text(PEAK_SNAKEFILE)
    (work / "allocate.py").write_text(PEAK_SCRIPT)
    snakemake(work, profile=None, configfile=None, cores=1)
    lines = [ln for ln in (work / "logs/allocate.log").read_text().splitlines() if "peak RSS" in ln]
    assert len(lines) == 1, lines
    peak_mb = float(lines[0].split("peak RSS of the job's processes: ")[1].split(" MB")[0])
    assert peak_mb >= 400 * 0.95, lines[0]
    with open(work / "benchmarks/allocate.tsv") as f:
        (bench,) = list(csv.DictReader(f, delimiter="\t"))
    # what Snakemake's benchmark recorded (its samples came before and after the child)
    assert float(bench["max_rss"]) < peak_mb / 2, (bench["max_rss"], peak_mb)
