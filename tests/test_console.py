"""The console (``--logger sezlights``): real Snakemake runs of small workflows made here.

The workflows are self-contained (not the project's workflow) and shaped like it: a
checkpoint lists the months (so the step total grows), a download job keeps the
``<log>.progress`` file of the job log contract and ends a failure with ``ERROR <message>``
as the last line of its log, per-month tables go to ``results/stats/eog/<YYYY-MM>.csv``,
the table to ``results/zonal_stats.csv``, and ``results/run.json`` says where they are.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from snakemake_interface_logger_plugins.registry import LoggerPluginRegistry
from snakemake_interface_logger_plugins.tests import TestLogHandlerBase

from snakemake_logger_plugin_sezlights import LogHandler, LogHandlerSettings
from snakemake_logger_plugin_sezlights.text import clean_exception, final_line

pytestmark = pytest.mark.workflow  # real Snakemake runs of small workflows

SNAKEFILE = r"""
from pathlib import Path
from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import validate

MODE = config.get("mode", "ok")
if MODE == "bad-config":
    raise WorkflowError("config error: months.start '2019-13' is not a month (use YYYY-MM)")
if MODE == "schema":
    validate(config, "schema.yaml")
if MODE == "ok":
    logger.warning("tile republished: 2019-01/tile_c202001.tgz; recomputing that month")


checkpoint list_months:
    output: "results/months.txt"
    log: "logs/list_months.log"
    message: "Listing the months on the server"
    shell: "printf '2019-01\\n2019-02\\n2019-03\\n' > {output}; echo listed > {log}"


def month_tables(wildcards):
    with checkpoints.list_months.get().output[0].open() as f:  # the local copy, in storage too
        months = f.read().split()
    return expand("results/stats/eog/{month}.csv", month=months)


rule all:
    default_target: True
    input:
        "data/zones.gpkg" if MODE == "missing-input" else [],
        "results/zonal_stats.csv",
        "results/run.json",


# the file that says where the results are (the workflow's record_where_results_are)
rule record:
    input: month_tables
    output: "results/run.json"
    log: "logs/record_where_results_are.log"
    run:
        import json
        months = sorted(Path(p).stem for p in input)
        text = json.dumps({
            "table": "results/zonal_stats.csv", "per_month": "results/stats/{source}/{month}.csv",
            "report": "results/report.html", "sources": ["eog"], "months": months})
        Path(output[0]).write_text(text)
        Path(log[0]).write_text(text)


rule combine:
    input: month_tables
    output: "results/zonal_stats.csv"
    log: "logs/combine.log"
    message: "Combining the per-month tables"
    shell: "cat {input} > {output}; echo ok > {log}"


rule download:
    output: "resources/tiles/{month}.tgz"
    log: "logs/download/{month}.log"
    message: "Downloading {wildcards.month}.tgz"
    retries: int(config.get("retries", 0))
    params: token="s3cret-token-value"
    script: "download.py"


rule stats:
    input: "resources/tiles/{month}.tgz"
    output: "results/stats/eog/{month}.csv"
    log: "logs/stats/{month}.log"
    message: "Computing per-zone statistics for eog {wildcards.month}"
    shell: "echo zone,{wildcards.month} > {output}; echo ok > {log}"
"""

# A download as the job log contract describes it: <log>.progress while it runs, deleted at
# the end; a user error ends it with exit status 1 and "ERROR <message>" as the log's last line.
DOWNLOAD = r"""
import json, os, sys, time

log, month, cfg = snakemake.log[0], snakemake.wildcards.month, snakemake.config
progress = log + ".progress"
total = 6_000_000
slow = month == str(cfg.get("slow_month", ""))
steps = 6 if slow else 1
started = time.time()
with open(log, "a") as f:
    f.write(time.strftime("%Y-%m-%d %H:%M:%S") + " INFO downloading " + month + ".tgz\n")
    for i in range(1, steps + 1):
        state = {"name": month + ".tgz", "bytes": total * i // steps, "total": total,
                 "started": started, "updated": time.time()}
        with open(progress + ".tmp", "w") as p:
            json.dump(state, p)
        os.replace(progress + ".tmp", progress)
        if month == str(cfg.get("fail_month", "")):
            f.write("2019-01-01 00:00:00 INFO got a login page instead of the file\n")
            f.write("ERROR login failed: the server refused the user name or password\n")
            os.remove(progress)
            sys.exit(1)
        if slow:
            time.sleep(0.5)
    os.remove(progress)
with open(snakemake.output[0], "wb") as out:
    out.write(b"x" * 10)
"""

SCHEMA = """
$schema: "http://json-schema.org/draft-07/schema#"
type: object
properties:
  mode: {type: string}
  product: {enum: [vcmcfg, vcmslcfg]}
  start: {type: string, pattern: '^\\d{4}-\\d{2}$'}
additionalProperties: false
"""

SNAKEMAKE_NOISE = [
    "Error in rule",
    "RuleException",
    "CalledProcessError",
    "WorkflowError",
    "At least one job did not complete",
    "Traceback",
    'File "',
    "Exiting because",
    "Complete log",
    "Building DAG",
    "Select jobs to execute",
    "Finished jobid",
    "Shell command",
    "    output:",
    "    log:",
    "jobid:",
    "Elapsed time",
]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    (tmp_path / "download.py").write_text(DOWNLOAD)
    (tmp_path / "schema.yaml").write_text(SCHEMA)
    return tmp_path


def snakemake(workdir: Path, *args: str, config: dict | None = None, timeout: float = 120):
    cmd = [sys.executable, "-m", "snakemake", "--logger", "sezlights", "--cores", "1", *args]
    if config:
        cmd += ["--config", *(f"{k}={v}" for k, v in config.items())]
    proc = subprocess.run(
        cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    return proc.returncode, proc.stderr.splitlines()


def assert_quiet_snakemake(lines: list[str]) -> None:
    text = "\n".join(lines)
    for noise in SNAKEMAKE_NOISE:
        assert noise not in text, f"{noise!r} printed:\n{text}"
    assert "s3cret-token-value" not in text


# -- the plugin as Snakemake sees it ---------------------------------------------------------


def test_snakemake_finds_the_plugin():
    registry = LoggerPluginRegistry()
    assert "sezlights" in registry.plugins
    plugin = registry.get_plugin("sezlights")
    assert plugin.log_handler is LogHandler
    assert plugin.settings_cls is LogHandlerSettings


class TestConsoleHandler(TestLogHandlerBase):
    __test__ = True

    def get_log_handler_cls(self):
        return LogHandler

    def get_log_handler_settings(self):
        return LogHandlerSettings(progress_interval=1.0)

    def test_properties(self):
        handler = self._create_handler()
        assert handler.writes_to_stream and not handler.writes_to_file
        assert handler.has_filter and handler.has_formatter
        handler.close()
        handler.close()  # Snakemake closes it twice


# -- real runs ------------------------------------------------------------------------------


def test_success_shows_progress_downloads_and_where_the_results_are(workdir):
    rc, lines = snakemake(
        workdir,
        "--logger-sezlights-progress-interval",
        "1",
        config={"slow_month": "2019-02"},
    )
    text = "\n".join(lines)
    assert rc == 0, text
    assert_quiet_snakemake(lines)
    # the workflow's warning, as it is
    assert "tile republished: 2019-01/tile_c202001.tgz; recomputing that month" in lines

    # the total does not grow silently: "3+" until the checkpoint is done, then said once
    assert "The step total grows once the months are listed (4+ so far)." in lines
    assert re.search(r"^\[1/4\+\] Listing the months on the server  \(\d", text, re.M)
    assert lines.count("The months are listed: 10 steps in total.") == 1
    steps = re.findall(r"^\[ ?(\d+)/(\d+\+?)\] (.*?)  \(", text, re.M)
    assert [int(n) for n, _, _ in steps] == list(range(1, 11))
    assert {t for _, t, _ in steps[1:]} == {"10"}
    labels = [label for _, _, label in steps]
    assert "Computing per-zone statistics for eog 2019-02" in labels
    assert "Downloading 2019-03.tgz" in labels
    assert labels[-1] == "all"

    # the slow download: bytes, total, percent and rate while it runs, size and rate at the end
    running = [line for line in lines if line.startswith("  downloading 2019-02.tgz: ")]
    assert running, text
    assert re.match(
        r"  downloading 2019-02\.tgz: [\d.]+ [kM]?B of 6\.0 MB \(\d+%\), [\d.]+ [kM]?B/s$",
        running[0],
    )
    finished = next(line for line in lines if "] Downloading 2019-02.tgz" in line)
    assert re.search(r"\(\d+\.\d s, 6\.0 MB at [\d.]+ [kM]?B/s\)$", finished), finished

    assert lines[-4].startswith("done: 10 steps in ")
    assert lines[-3:] == [
        "table: results/zonal_stats.csv",
        "per-month tables: results/stats/eog/ (3 months, 2019-01 to 2019-03)",
        "report: snakemake --report results/report.html",
    ]

    # run again: nothing to do, and the same closing lines; an up-to-date report is named
    report = workdir / "results" / "report.html"
    report.write_text("<html></html>")
    rc, lines = snakemake(workdir)
    assert rc == 0
    assert "Nothing to be done (all requested files are present and up to date)." in lines
    assert lines[-3:] == [
        "table: results/zonal_stats.csv",
        "per-month tables: results/stats/eog/ (3 months, 2019-01 to 2019-03)",
        "report: results/report.html",
    ]
    assert not any(line.startswith("[") for line in lines)


def test_failing_job_ends_with_its_one_line_message(workdir):
    rc, lines = snakemake(workdir, config={"fail_month": "2019-02", "retries": 1})
    text = "\n".join(lines)
    assert rc == 1
    assert_quiet_snakemake(lines)
    message = "error: login failed: the server refused the user name or password"
    assert lines[-1] == message
    assert lines[-2] == "failed: Downloading 2019-02.tgz (log: logs/download/2019-02.log)"
    # said on the retry and at the end: no log dumps, no repeats
    assert "retrying Downloading 2019-02.tgz (attempt 2) after " + message in lines
    assert text.count("login failed") == 2
    assert "got a login page" not in text


def test_config_error_at_parse_time_is_the_last_line(workdir):
    rc, lines = snakemake(workdir, config={"mode": "bad-config"})
    assert rc == 1
    assert_quiet_snakemake(lines)
    assert lines[-1] == "config error: months.start '2019-13' is not a month (use YYYY-MM)"
    assert len(lines) == 1


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"colour": "red"}, "Additional properties are not allowed ('colour' was unexpected)"),
        ({"product": "vcm"}, "'vcm' is not one of ['vcmcfg', 'vcmslcfg'] (at product)"),
        ({"start": "2019-1"}, "'2019-1' does not match"),
    ],
)
def test_schema_errors_keep_their_message(workdir, config, fragment):
    rc, lines = snakemake(workdir, config={"mode": "schema", **config})
    assert rc == 1
    assert_quiet_snakemake(lines)
    assert lines[-1].startswith("Error validating config file: ")
    assert fragment in lines[-1]
    assert "Failed validating" not in "\n".join(lines)


def test_missing_input_is_the_last_line(workdir):
    rc, lines = snakemake(workdir, config={"mode": "missing-input"})
    assert rc == 1
    assert_quiet_snakemake(lines)
    assert lines[-1] == ("error: Missing input files for rule all: affected files: data/zones.gpkg")


def test_dry_run_shows_the_job_counts(workdir):
    rc, lines = snakemake(workdir, "--dry-run")
    text = "\n".join(lines)
    assert rc == 0, text
    assert_quiet_snakemake(lines)
    assert "Job stats:" in lines
    assert re.search(r"^list_months\s+1$", text, re.M)
    assert re.search(r"^total\s+4$", text, re.M)
    assert any(line.startswith("This was a dry-run (flag -n).") for line in lines)
    assert any(line.startswith("The run involves checkpoint jobs") for line in lines)
    assert "rule list_months" not in text and "[1/" not in text and "table:" not in text
    assert not (workdir / "results").exists()


def test_locked_directory_is_the_last_line(workdir):
    (workdir / "Snakefile").write_text(
        textwrap.dedent(
            """
            rule slow:
                output: "out.txt"
                shell:
                    "touch started; "
                    "for i in $(seq 300); do [ -e go ] && break; sleep 0.1; done; "
                    "touch {output}"
            """
        )
    )
    first = subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--logger", "sezlights", "--cores", "1"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        while not (workdir / "started").exists():
            assert time.time() < deadline and first.poll() is None
            time.sleep(0.1)
        rc, lines = snakemake(workdir)
        assert rc == 1
        assert "Directory cannot be locked" in lines[-1]
        assert "--unlock" in lines[-1]
        assert_quiet_snakemake(lines)
    finally:
        (workdir / "go").touch()
        first.wait(timeout=60)


def test_storage_runs_name_the_storage_uris(workdir):
    pytest.importorskip("boto3")
    pytest.importorskip("snakemake_storage_plugin_s3")
    sys.path.insert(0, str(Path(__file__).parent))
    from s3server import S3Server

    server = S3Server(workdir / "moto.log")
    try:
        server.client.create_bucket(Bucket="lights")
        rc, lines = snakemake(workdir, *server.storage_args("lights", "runs/a"))
        assert rc == 0, "\n".join(lines)
        assert lines[-3:] == [
            "table: s3://lights/runs/a/results/zonal_stats.csv",
            "per-month tables: s3://lights/runs/a/results/stats/{source}/{month}.csv"
            " (3 months, 2019-01 to 2019-03)",
            "report: snakemake --report results/report.html",
        ]
        assert not (workdir / "results" / "zonal_stats.csv").exists()
        # nothing to do: no job names the outputs, the prefix comes from the kept logs
        rc, again = snakemake(workdir, *server.storage_args("lights", "runs/a"))
    finally:
        server.stop()
    assert rc == 0, "\n".join(again)
    assert "Nothing to be done (all requested files are present and up to date)." in again
    assert again[-3:] == lines[-3:]
    assert "test-secret-key" not in "\n".join(lines + again)


def test_terminal_gets_a_live_display_that_ends_cleanly(workdir):
    pytest.importorskip("rich")
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "120", "LINES": "40"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--logger",
            "sezlights",
            "--cores",
            "1",
            "--config",
            "slow_month=2019-02",
        ],
        cwd=workdir,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    out = b""
    deadline = time.time() + 120
    while time.time() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the other side closed
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    assert proc.wait(timeout=30) == 0
    screen = out.decode("utf-8", "replace")
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r", "", screen)
    assert "steps" in plain and "2019-02.tgz" in plain  # the live status was drawn
    assert "Downloading 2019-02.tgz  (" in plain
    tail = [line for line in plain.splitlines() if line.strip()][-3:]
    assert tail == [
        "table: results/zonal_stats.csv",
        "per-month tables: results/stats/eog/ (3 months, 2019-01 to 2019-03)",
        "report: snakemake --report results/report.html",
    ]


# -- the messages ----------------------------------------------------------------------------


def test_input_function_errors_name_the_inner_error():
    text = (
        'InputFunctionException in rule mosaic in file "/w/workflow/rules/mosaic.smk", line 1:\n'
        "Error:\n  UserError: results/manifests/2019-01.json is not valid JSON\n"
        "Wildcards:\n  month=2019-01\nTraceback:\n"
        '  File "/w/workflow/rules/common.smk", line 200, in tile_archives'
    )
    assert clean_exception(text, "InputFunctionException") == (
        "results/manifests/2019-01.json is not valid JSON (rule mosaic, month=2019-01)"
    )


def test_python_errors_keep_their_class_and_place():
    text = (
        'KeyError in file "/elsewhere/Snakefile", line 7:\n'
        "'months'\n"
        '  File "/elsewhere/Snakefile", line 7'
    )
    assert clean_exception(text, "KeyError") == "KeyError: 'months' (/elsewhere/Snakefile, line 7)"
    assert final_line("KeyError: 'months'") == "KeyError: 'months'"
    assert final_line("config error: x") == "config error: x"
    assert final_line("login failed") == "error: login failed"
