"""One retry budget per file: a server that answers 500 forever costs seconds, not hours.

The issue: a file answering 500 kept a run busy 12 minutes per tile (108 requests:
job retries x attempts x urllib3 retries), slept again after the last attempt, and
ended claiming a partial file was kept and blaming the network. Now every try for a
file, urllib3's retries on 5xx and connection errors included, draws on one
:class:`~sezlights.http.Budget` (``download.retry_budget`` seconds, ``download.attempts``
tries); a try that would start after the deadline is not made, so nothing sleeps after
the last one; the message counts what the server answered and mentions a partial
file only when there is one. The ``download_month_files`` rule has ``retries: 0``: the
profile's ``retries: 1`` does not multiply the budget.

Times are taken by the stand-in itself (when it received each request) and compared
with when the exception reached the caller.
"""

from __future__ import annotations

import logging
import re
import time

import pytest
from helpers import SOURCES, last_line, make_site, snakemake, workflow_dir

from sezlights import disk
from sezlights.errors import DownloadError

FIVE_HUNDRED = "HTTP 500 Internal Server Error"
NO_SLEEP = 0.2  # s: the most the last request may precede the error (a request's own time)


def schedule(seconds: float, backoff: float, tries: int | None) -> list[float]:
    """When the tries start if every try fails at once, per the documented rule: the
    n-th wait is ``backoff * 2**(n-1)`` (at most 60 s), and a try that would start at
    or after the deadline is not made."""
    starts, t = [0.0], 0.0
    while tries is None or len(starts) < tries:
        wait = min(backoff * 2 ** (len(starts) - 1), 60.0)
        if t + wait >= seconds:
            break
        t += wait
        starts.append(t)
    return starts


def timed(server) -> list[tuple[float, str, int]]:
    """Make the stand-in note when it received each request: (monotonic time, path, status)."""
    seen: list[tuple[float, str, int]] = []
    record = server.record

    def record_with_time(method, path, status):
        seen.append((time.monotonic(), path, status))
        record(method, path, status)

    server.record = record_with_time
    return seen


def file_requests(seen, site) -> list[tuple[float, int]]:
    """The requests for the file's bytes (on the Earthdata Cloud, at its signed address)."""
    return [(t, s) for t, p, s in seen if p.endswith(site.file) and site.bytes_path in p]


@pytest.fixture(params=SOURCES)
def site(request):
    return make_site(request, request.param)


def test_500_forever_gives_up_within_its_budget_without_a_last_sleep(site, tmp_path, caplog):
    seconds, backoff = 2.5, 0.25
    expected = schedule(seconds, backoff, 20)  # tries at 0, 0.25, 0.75, 1.75 s
    assert len(expected) == 4
    seen = timed(site.server)
    site.add_faults(*["500"] * 50)
    start = time.monotonic()
    with caplog.at_level(logging.INFO), pytest.raises(DownloadError) as exc:
        site.fetch(tmp_path, seconds=seconds, tries=20, backoff=backoff)
    failed = time.monotonic()
    got = file_requests(seen, site)
    assert [s for _, s in got] == [500] * len(expected)
    assert failed - start < seconds + 0.5
    assert failed - got[-1][0] < NO_SLEEP, "it slept after the last try"
    for (t, _), planned in zip(got, expected, strict=True):
        assert planned <= t - start < planned + 0.3
    n = len(expected)
    text = str(exc.value)
    assert text.startswith(f"gave up on {site.file} after {n} failed tries in 2 s ")
    assert "(download.retry_budget 2.5 s, download.attempts 20)" in text
    assert f"the server answered {FIVE_HUNDRED} {n} times;" in text
    assert "no part of the file was received" in text
    assert "kept" not in text and "network" not in text
    assert text.endswith("Run again later; if it persists, tell the server's operators.")
    assert not list(tmp_path.iterdir())
    # every failed try is logged with what the server answered, the last one by the error
    retries = [r.getMessage() for r in caplog.records if "trying again" in r.getMessage()]
    waits = [backoff * 2 ** (i - 1) for i in range(1, n)]  # 0.25, 0.5, 1.0 s
    assert retries == [
        f"{site.file}: try {i} failed ({FIVE_HUNDRED}); trying again in {w:.1f} s"
        for i, w in enumerate(waits, 1)
    ]


def test_attempts_bound_the_requests(site, tmp_path):
    seen = timed(site.server)
    site.add_faults(*["500"] * 50)
    start = time.monotonic()
    with pytest.raises(DownloadError) as exc:
        site.fetch(tmp_path, seconds=60, tries=3, backoff=0.05)
    failed = time.monotonic()
    got = file_requests(seen, site)
    assert len(got) == 3
    assert failed - got[-1][0] < NO_SLEEP, "it slept after the last try"
    assert failed - start < 1
    assert "after 3 failed tries in 0 s (download.retry_budget 60 s, download.attempts 3): " in str(
        exc.value
    )
    assert f"the server answered {FIVE_HUNDRED} 3 times" in str(exc.value)


def test_the_budget_comes_from_the_config(request, tmp_path):
    """``download.retry_budget: 3`` through Source.download (backoff 1 s): two tries."""
    for which in SOURCES:
        site = make_site(request, which, retry_budget=3)
        seen = timed(site.server)
        site.add_faults(*["500"] * 50)
        start = time.monotonic()
        with pytest.raises(DownloadError) as exc:
            site.src.download(site.session, site.entry, tmp_path / which / site.file)
        failed = time.monotonic()
        got = file_requests(seen, site)
        assert len(got) == len(schedule(3, 1.0, 20)) == 2
        assert 1.0 <= failed - start < 1.5 and failed - got[-1][0] < NO_SLEEP
        assert "(download.retry_budget 3 s, download.attempts 20)" in str(exc.value)
        assert f"the server answered {FIVE_HUNDRED} 2 times" in str(exc.value)


def test_a_partial_file_is_reported_kept_and_resumed(site, tmp_path):
    """A cut body, then 500s: the message says what was kept, and the next run resumes it."""
    seconds, backoff = 1.2, 0.1  # tries at 0, 0.1, 0.3, 0.7 s
    n = len(schedule(seconds, backoff, 20))
    assert n == 4
    site.add_faults("cut", *["500"] * (n - 1))
    with pytest.raises(DownloadError) as exc:
        site.fetch(tmp_path, seconds=seconds, backoff=backoff)
    part = tmp_path / (site.file + ".part")
    have = part.stat().st_size
    assert 0 < have < site.real.stat().st_size
    text = str(exc.value)
    assert f"after {n} failed tries" in text
    assert f"the server answered {FIVE_HUNDRED} {n - 1} times; body cut short 1 time;" in text
    assert (
        f"the {disk.human_bytes(have)} received so far are kept in {part.name}, and the next run "
        "resumes them" in text
    )
    assert not (tmp_path / site.file).exists()
    site.server.reset_log()
    site.fetch(tmp_path)  # the next run
    assert (tmp_path / site.file).read_bytes() == site.real.read_bytes()
    assert site.statuses() == [206]


def test_a_server_that_is_not_there_is_counted_too(site, tmp_path):
    """Connection errors are urllib3's retries: they draw on the same budget."""
    site.server.stop()
    start = time.monotonic()
    with pytest.raises(DownloadError) as exc:
        site.fetch(tmp_path, seconds=1.2, backoff=0.1)
    assert time.monotonic() - start < 1.2
    text = str(exc.value)
    assert re.search(r"after 4 failed tries in \d s .*: connection refused 4 times; no part", text)
    assert "the server answered" not in text
    assert text.endswith("Check the network (and that the server is up) and run again.")


# ---------------------------------------------------------------- through Snakemake


@pytest.mark.workflow
@pytest.mark.serial
def test_a_500_storm_fails_one_job_within_its_budget(eog_server, tmp_path):
    """One tile answers 500 forever: the run fails within the 3 s budget of one job (the
    rule's ``retries: 0`` wins over the laptop profile's ``retries: 1``), and the last
    console line is the job's message, saying what the server answered."""
    name = next((eog_server.tree / "2019/201901/vcmcfg").glob("*_75N060W_*.tgz")).name
    work = workflow_dir(
        tmp_path,
        eog_server,
        sources=["eog"],
        months={"start": "2019-01", "end": "2019-01"},
        download={"retry_budget": 3},
    )
    seen = timed(eog_server)
    eog_server.add_faults(name, *["500"] * 50)
    start = time.monotonic()
    p = snakemake(work, check=False)
    took = time.monotonic() - start
    console = p.stdout + p.stderr
    assert p.returncode != 0
    assert took < 30, f"the run took {took:.1f} s"
    got = [(t, s) for t, q, s in seen if q.endswith(name)]
    n = len(schedule(3, 1.0, 20))
    # one job's two tries, one second apart: no second job, no second budget
    assert [s for _, s in got] == [500] * n == [500, 500]
    assert got[-1][0] - got[0][0] < 3
    # no second job ("retrying <job> (attempt 2)"); the tries inside the job are shown
    assert "(attempt " not in console and "Traceback" not in console
    assert f"retrying {name}: {FIVE_HUNDRED} (try 1); next try in " in console
    log = work / "logs/download/eog/2019-01.log"  # the month's download job
    lines = log.read_text().splitlines()
    assert lines[-1].startswith(f"ERROR gave up on {name} after {n} failed tries in ")
    assert any(f"try 1 failed ({FIVE_HUNDRED}); trying again in 1.0 s" in ln for ln in lines)
    message = lines[-1][len("ERROR ") :]
    assert last_line(p) == f"error: {message}"
    assert f"the server answered {FIVE_HUNDRED} {n} times;" in message
    assert "no part of the file was received" in message and "kept" not in message
    assert "network" not in message
    assert not (work / f"resources/files/eog/2019-01/{name}").exists()
    assert not (work / f"resources/files/eog/2019-01/{name}.part").exists()
