"""The console's lines and the run's start-up checks, without Snakemake runs (the runs are in
test_console.py and test_new_user.py)."""

from __future__ import annotations

from sezlights.executors import missing_commands
from snakemake_logger_plugin_sezlights.downloads import Download
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


# ---------------------------------------------------------------- download rates (issue 19)

MB = 1_000_000


def test_a_short_jobs_rate_is_its_own_not_that_of_the_samples_seen_at_its_end():
    """The console first saw this 3.9 s job's progress near its end: two samples 1.5 s apart
    that differ by 50 kB. The line of the finished job said ``24.5 MB at 33.3 kB/s``; the
    rate is what the job received over its own clock."""
    t0 = 1_000_000.0
    d = Download(
        {"name": "4 files", "bytes": 24_450_000, "total": 24_500_000, "started": t0,
         "updated": t0 + 1.2, "received": 24_450_000},
        first_print=t0,
    )  # fmt: skip
    d.update(
        {"name": "4 files", "bytes": 24_500_000, "total": 24_500_000, "started": t0,
         "updated": t0 + 2.7, "received": 24_500_000}
    )  # fmt: skip
    assert d.summary(end=t0 + 3.9) == "24.5 MB at 9.1 MB/s"


def test_bytes_that_were_there_before_the_job_do_not_count_in_its_rate():
    t0 = 1_000_000.0
    d = Download(
        {"name": "f", "bytes": 40 * MB, "total": 40 * MB, "started": t0, "updated": t0 + 2,
         "received": 10 * MB},
        first_print=t0,
    )  # fmt: skip
    assert d.mean_rate() == 5 * MB
    assert d.summary(end=t0 + 2.5) == "40.0 MB at 5.0 MB/s"
    # a progress file without "received" (a job of the earlier contract): since its start
    old = Download({"name": "f", "bytes": 8 * MB, "started": t0, "updated": t0 + 4}, t0)
    assert old.mean_rate() == 2 * MB


def test_the_current_rate_is_over_the_last_seconds():
    t0 = 1_000_000.0
    d = Download({"name": "f", "bytes": 0, "started": t0, "updated": t0, "received": 0}, t0)
    for i in range(1, 11):  # 1 MB/s for 5 s, then 3 MB/s
        got = i * MB if i <= 5 else 5 * MB + (i - 5) * 3 * MB
        d.update({"name": "f", "bytes": got, "started": t0, "updated": t0 + i, "received": got})
    assert d.rate() == 3 * MB


# ---------------------------------------------------------------- retry waits (item 8)


def waiting_download(t0: float) -> Download:
    wait = {
        "file": "SVDNB_npp_20190101-20190131_75N060W_vcmcfg_v10_c201902051200.tgz",
        "answer": "HTTP 500 Internal Server Error",
        "try": 4,
        "next_try": t0 + 8,
        "budget_ends": t0 + 192,
        "tries_left": 16,
    }
    data = {"name": "4 files", "bytes": 5 * MB, "total": 20 * MB, "started": t0 - 60,
            "updated": t0, "received": 5 * MB, "waiting": [wait]}  # fmt: skip
    return Download(data, first_print=t0)


def test_a_retry_wait_says_what_the_server_answered_the_next_try_and_the_budget_left():
    t0 = 1_000_000.0
    (line,) = waiting_download(t0).waits(now=t0)
    assert line == (
        "SVDNB_npp_20190101-20190131_75N060W_vcmcfg_v10_c201902051200.tgz: HTTP 500 Internal "
        "Server Error (try 4); next try in 8.0 s, 3 min 12 s of the retry budget left (16 tries)"
    )
    (later,) = waiting_download(t0).waits(now=t0 + 9)
    assert "trying again, 3 min 3 s of the retry budget left" in later


def test_the_live_display_shows_each_retry_wait():
    import io
    import time

    from rich.console import Console

    from snakemake_logger_plugin_sezlights.display import RichDisplay, View

    now = time.time()
    d = waiting_download(now)
    view = View(
        done=3,
        total=20,
        started=now - 60,
        running=(("Listing the eog files of 2019-02 on the server", now - 2),),
        downloads=((d.name, d.bytes, d.total, d.percent, d.rate(), tuple(d.waits(now))),),
    )
    display = RichDisplay(lambda: view)
    display.console = Console(file=io.StringIO(), width=200, record=True, color_system=None)
    display.console.print(display._render())
    text = display.console.export_text()
    assert "4 files  5.0 MB / 20.0 MB" in text
    assert "retrying" in text and "HTTP 500 Internal Server Error (try 4); next try in" in text
    assert "of the retry budget left (16 tries)" in text
    assert "Listing the eog files of 2019-02" in text


def test_per_month_tables_deleted_since_the_run_are_said_with_how_to_get_them_back(
    tmp_path, monkeypatch
):
    # issue 21, item 4: the closing lines never promise tables that are gone
    import json

    from snakemake_logger_plugin_sezlights.results import RUN_FILE, result_lines

    monkeypatch.chdir(tmp_path)
    (tmp_path / "results/stats/eog").mkdir(parents=True)
    (tmp_path / "results/zonal_stats.csv").write_text("zone_id\n")
    for month in ("2019-01", "2019-03"):
        (tmp_path / f"results/stats/eog/{month}.csv").write_text("zone_id\n")
    (tmp_path / RUN_FILE).write_text(
        json.dumps(
            {
                "table": "results/zonal_stats.csv",
                "per_month": "results/stats/{source}/{month}.csv",
                "sources": ["eog"],
                "months": ["2019-01", "2019-02", "2019-03"],
                "report": "results/report.html",
            }
        )
    )
    lines = result_lines()
    assert "per-month tables: results/stats/eog/ (2 months, 2019-01 to 2019-03)" in lines
    assert (
        "per-month tables missing: 1 (e.g. results/stats/eog/2019-02.csv); run again to "
        "make them anew"
    ) in lines

    # all present again: the line is gone
    (tmp_path / "results/stats/eog/2019-02.csv").write_text("zone_id\n")
    lines = result_lines()
    assert "per-month tables: results/stats/eog/ (3 months, 2019-01 to 2019-03)" in lines
    assert not any(line.startswith("per-month tables missing") for line in lines)
