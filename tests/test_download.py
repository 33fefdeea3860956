"""Downloading one file from each source, against the local stand-ins on real sockets.

EOG: ``.tgz`` archives behind Keycloak (password grant with the account's own client,
or a static ``EOG_TOKEN``). Black Marble: ``.h5`` files on LAADS behind a static
``EARTHDATA_TOKEN``. Every test runs for both sources where the behaviour applies:
verify + rename, resume with ``Range``, recovery from 503 storms and cut bodies, a
clear end when faults never stop, logins (renewed once, then one clear error, never
a retry storm, never a login page written as data), corrupt files deleted, and the
archive reader's refusal of members that escape their folder.

The :class:`~helpers.Site` helper and :func:`~helpers.make_site` (tests/helpers.py)
are shared with test_faults_network.py, test_retry_budget.py and test_disk_full.py.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from helpers import SERVER_PATH, SOURCES, Site, make_config, make_site
from sezlights_standin.httpserver import BROKEN

from sezlights import archive, sources
from sezlights.auth import PasswordGrantSession
from sezlights.errors import CorruptFileError, DownloadError, LoginError, MissingFileError


@pytest.fixture(params=SOURCES)
def site(request) -> Site:
    return make_site(request, request.param)


@pytest.fixture
def eog_site(request) -> Site:
    return make_site(request, "eog")


@pytest.fixture
def folder(tmp_path) -> Path:
    d = tmp_path / "files"
    d.mkdir()
    return d


# ---------------------------------------------------------------- the file arrives


def test_download_verifies_and_renames(site, folder, tmp_path):
    progress = tmp_path / "download.log.progress"
    dest = site.fetch(folder, progress_path=progress)
    assert dest == folder / site.file
    assert dest.read_bytes() == site.real.read_bytes()
    assert sorted(p.name for p in folder.iterdir()) == [site.file]  # no .part left
    assert not progress.exists()  # the progress file goes when the job ends
    assert site.statuses() == [200]
    site.src.verify(dest)
    if site.name == "eog":
        kinds = {sources.eog.member_kind(n) for n in archive.verify(dest)}
        assert {"radiance", "coverage"} <= kinds
    else:
        assert dest.read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"


def test_resumes_a_partial_file_with_range(site, folder):
    data = site.real.read_bytes()
    (folder / (site.file + ".part")).write_bytes(data[: len(data) // 3])
    site.fetch(folder)
    assert (folder / site.file).read_bytes() == data
    assert site.statuses() == [206]  # only the missing two thirds were asked for


def test_recovers_from_503_storm_and_cut_body(site, folder):
    site.add_faults("503", "503", "503", "cut", "503", "cut")
    site.fetch(folder)
    assert (folder / site.file).read_bytes() == site.real.read_bytes()
    # urllib3 retried the 503s inside the one budget; each cut body was resumed
    assert site.statuses() == [503, 503, 503, BROKEN, 503, BROKEN, 206]


def test_gives_up_clearly_and_keeps_the_part(site, folder):
    site.add_faults("cut", "cut", "cut")
    with pytest.raises(DownloadError) as exc:
        site.fetch(folder, tries=2)
    part = folder / (site.file + ".part")
    text = str(exc.value)
    assert text.startswith(f"gave up on {site.file} after 2 failed tries in ")
    assert "body cut short 2 times" in text
    assert f"received so far are kept in {part.name}, and the next run resumes them" in text
    assert not (folder / site.file).exists()
    assert 0 < part.stat().st_size < site.real.stat().st_size
    assert site.statuses() == [BROKEN, BROKEN]  # two tries, as download.attempts says


def test_a_file_gone_from_the_server_is_a_missing_file(site, folder):
    site.real.unlink()
    with pytest.raises(
        MissingFileError, match="is listed but the server answers 404|is in CMR but"
    ):
        site.fetch(folder)
    asked = site.redirects() if site.name == "cloud" else site.statuses()  # one request
    assert len(asked) == 1 and not list(folder.iterdir())


# ---------------------------------------------------------------- logins


@pytest.mark.parametrize("fault", ["401", "403", "html", "login"])
def test_a_refused_token_is_renewed_once_and_the_file_arrives(eog_site, folder, fault):
    """A 5-minute EOG token that stopped working: one new token, then the file."""
    site = eog_site
    site.server.add_faults(site.file, fault)
    site.fetch(folder)
    assert (folder / site.file).read_bytes() == site.real.read_bytes()
    first = {"401": 401, "403": 403, "html": 200, "login": 302}[fault]
    assert site.statuses() == [first, 200]
    assert site.server.grants == ["password", "refresh_token"]


@pytest.mark.parametrize("fault", ["401", "403", "html", "login"])
def test_a_login_page_after_a_fresh_token_is_one_login_error(eog_site, folder, fault):
    """Refused again with a fresh token: not an expiry; one error, no retry storm."""
    site = eog_site
    site.server.add_faults(site.file, fault, fault)
    with pytest.raises(LoginError, match="keeps sending its login page .* lack access"):
        site.fetch(folder)
    assert len(site.statuses()) == 2  # the first try and the one with the renewed token
    assert site.server.grants == ["password", "refresh_token"]
    assert not list(folder.iterdir())


def test_a_renewal_the_token_endpoint_keeps_failing_says_what_it_answered(
    eog_site, folder, monkeypatch
):
    """The file answers 401, and Keycloak answers every token request with 503: a few
    tries, then one line that says so (not "check the network"), nothing written."""
    monkeypatch.setattr(PasswordGrantSession, "retry_backoff", 0.01, raising=False)
    site = eog_site
    site.server.add_faults(site.file, "401")
    site.server.token_faults(*["503"] * 10)
    with pytest.raises(LoginError) as exc:
        site.fetch(folder)
    text = str(exc.value)
    assert "token endpoint gave no token" in text and "HTTP 503 Service Unavailable 4 times" in text
    assert "network" not in text and len(text.splitlines()) == 1 and site.token not in text
    assert site.statuses() == [401]
    assert not list(folder.iterdir())


@pytest.mark.parametrize("which", ["eog", "blackmarble"])  # the cloud's: test_blackmarble.py
@pytest.mark.parametrize("fault", ["401", "403", "html", "login"])
def test_a_refused_static_token_stops_at_once(request, which, folder, fault):
    site = make_site(request, which)
    """EOG_TOKEN / EARTHDATA_TOKEN cannot be renewed: one request, one clear error."""
    session = site.static_session()
    site.server.reset_log()
    site.server.add_faults(site.file, fault)
    variable = "EOG_TOKEN" if site.name == "eog" else "EARTHDATA_TOKEN"
    with pytest.raises(LoginError, match=f"refused {variable}") as exc:
        site.fetch(folder, session=session)
    assert len(site.statuses()) == 1
    assert not list(folder.iterdir())  # no login page written as .tgz / .h5, no .part
    assert session.headers["Authorization"].split(" ", 1)[1] not in str(exc.value)


@pytest.mark.parametrize("which", ["eog", "blackmarble"])  # the cloud's: test_blackmarble.py
def test_a_wrong_token_never_writes_the_login_page(request, which, folder):
    """The service's own answer to a bad token (a 302 to its login page on another
    host, then a 200 HTML page) is a login error, never a data file."""
    site = make_site(request, which)
    session = site.static_session("not-a-token-it-issued")
    site.server.reset_log()
    with pytest.raises(LoginError, match="login failed") as exc:
        site.fetch(folder, session=session)
    assert site.statuses() == [302]
    assert not list(folder.iterdir())
    assert "not-a-token-it-issued" not in str(exc.value)


# ---------------------------------------------------------------- bad files


@pytest.mark.parametrize(
    "which, damage, message",
    [
        ("eog", "zeroed", "is corrupt"),  # gzip CRC / deflate error in the middle
        ("eog", "truncated", "is corrupt"),
        ("blackmarble", "truncated", "is not a readable Black Marble file"),
    ],
    ids=["eog-zeroed", "eog-truncated", "blackmarble-truncated"],
)
def test_a_corrupt_file_is_deleted(request, folder, which, damage, message):
    site = make_site(request, which)
    data = bytearray(site.real.read_bytes())
    if damage == "zeroed":
        data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
    else:
        data = data[: len(data) // 2]
    site.real.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError) as exc:
        site.fetch(folder)
    text = str(exc.value)
    assert text.startswith(site.file) and message in text
    assert "it was deleted: run again to download it anew" in text
    assert ".part" not in text
    assert not list(folder.iterdir())  # neither the file nor a .part that would resume
    assert site.statuses() == [200]  # a whole file that fails its check is not retried


def test_something_that_is_not_the_file_is_never_written(site, folder):
    """Not a gzip / HDF5 signature: refused before a byte is written."""
    site.real.write_bytes(b"PK\x03\x04" + bytes(5000))
    with pytest.raises(CorruptFileError, match="not this kind of file"):
        site.fetch(folder)
    assert not list(folder.iterdir())
    assert site.statuses() == [200]


def test_a_truncated_hdf5_file_is_corrupt(request, tmp_path):
    site = make_site(request, "blackmarble")
    cut = tmp_path / site.file
    cut.write_bytes(site.real.read_bytes()[: site.real.stat().st_size // 2])
    with pytest.raises(CorruptFileError, match="is not a readable Black Marble file"):
        site.src.verify(cut)
    cut.write_bytes(b"<!DOCTYPE html><html><title>Earthdata Login</title></html>")
    with pytest.raises(CorruptFileError, match="is not an HDF5 file"):
        site.src.verify(cut)


# ---------------------------------------------------------------- archives


def _tgz(path, members, fmt=tarfile.DEFAULT_FORMAT):
    with tarfile.open(path, "w:gz", format=fmt) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)


def _member(name: str, data: bytes = b"abc") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


@pytest.mark.parametrize(
    "name, kind",
    [
        ("../evil.avg_rade9h.tif", tarfile.REGTYPE),
        ("/tmp/evil.avg_rade9h.tif", tarfile.REGTYPE),
        ("x.avg_rade9h.tif", tarfile.SYMTYPE),
        ("../" + "d" * 120 + "/evil.avg_rade9h.tif", tarfile.REGTYPE),  # in a pax header
    ],
    ids=["dotdot", "absolute", "symlink", "dotdot-in-pax-header"],
)
def test_archive_members_escaping_are_refused(request, tmp_path, name, kind):
    info = tarfile.TarInfo(name)
    info.type = kind
    data = b"abc"
    if kind == tarfile.SYMTYPE:
        info.linkname, data = "/etc/passwd", None
    else:
        info.size = len(data)
    members = [_member("ok.cf_cvg.tif"), (info, data), _member("ok.avg_rade9h.tif")]
    bad = tmp_path / "bad.tgz"
    _tgz(bad, members, tarfile.PAX_FORMAT)
    with pytest.raises(CorruptFileError, match="refusing"):
        archive.verify(bad)
    # served in place of a real tile, it is refused by the download and nothing is kept
    site = make_site(request, "eog")
    site.real.write_bytes(bad.read_bytes())
    folder = tmp_path / "files"
    with pytest.raises(CorruptFileError, match="refusing") as exc:
        site.fetch(folder)
    assert str(exc.value).startswith(site.file)
    assert not list(folder.iterdir())
    assert not list(tmp_path.rglob("evil*")) and not Path("/tmp/evil.avg_rade9h.tif").exists()


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT], ids=["pax", "gnu"])
def test_archives_with_extension_headers_are_read(tmp_path, fmt):
    """Long member names (pax or GNU headers) take tarfile's own reader."""
    long = "x" * 120
    arc = tmp_path / "SVDNB_npp_20190101-20190131_75N060W_vcmcfg_v10_c201902051200.tgz"
    rad, cvg = b"r" * 1000, b"c" * 513
    _tgz(arc, [_member(f"{long}.avg_rade9h.tif", rad), _member(f"{long}.cf_cvg.tif", cvg)], fmt)
    assert archive.verify(arc) == {f"{long}.avg_rade9h.tif": 1000, f"{long}.cf_cvg.tif": 513}
    assert [m.file.read() for m in archive.members(arc)] == [rad, cvg]
    sources.get("eog", make_config()).verify(arc)  # both bands found: no error


def test_a_truncated_archive_is_corrupt(eog_tree, tmp_path):
    real = next((eog_tree / SERVER_PATH / "2019/201901/vcmcfg").glob("*00N060W*"))
    cut = tmp_path / real.name
    cut.write_bytes(real.read_bytes()[: real.stat().st_size // 2])
    with pytest.raises(CorruptFileError, match=f"{real.name} is corrupt"):
        archive.verify(cut)
    with pytest.raises(CorruptFileError, match="is corrupt"):
        sources.get("eog", make_config()).verify(cut)


# ---------------------------------------------------------------- the progress file (issue 21)


def fetch_keeping_progress(site: Site, folder: Path, progress_path: Path, backoff=0.01):
    """Site.fetch, but the progress file stays for the test to read (a job deletes it)."""
    from sezlights.download import Progress, download
    from sezlights.http import Budget, child_session

    budget = Budget(60, 20, backoff)
    progress = Progress(progress_path, site.file)
    download(
        site.src.target(child_session(site.session, budget), site.entry),
        folder / site.file,
        verify=site.src.verify,
        budget=budget,
        signature=site.src.signature,
        timeout=(5, 10),
        progress=progress,
    )
    return progress


def test_the_rate_counts_only_the_bytes_the_job_received(eog_site, folder, tmp_path):
    """A resumed part file's bytes were there before the job: ``received`` leaves them out,
    so the console's rate is the job's own (``bytes`` still says what the file holds)."""
    import json

    data = eog_site.real.read_bytes()
    (folder / (eog_site.file + ".part")).write_bytes(data[: len(data) // 3])
    path = tmp_path / "job.log.progress"
    fetch_keeping_progress(eog_site, folder, path)
    state = json.loads(path.read_text())
    assert state["bytes"] == state["total"] == len(data)
    assert state["received"] == len(data) - len(data) // 3
    assert state["started"] <= state["updated"] and state["waiting"] == []


def test_each_retry_wait_is_in_the_progress_file_while_it_lasts(site, folder, tmp_path):
    """What the server answered, the failed try, when the next try comes and when the
    retry budget ends: urllib3's retries (500) and the resumes of a cut body alike."""
    import json
    import threading
    import time

    site.add_faults("500", "500", "cut")
    path = tmp_path / "job.log.progress"
    seen: dict = {}
    done = threading.Event()

    def watch():
        while not done.is_set():
            try:
                state = json.loads(path.read_text())
            except (OSError, ValueError):
                state = {}
            for w in state.get("waiting", []):
                seen.setdefault(w["try"], (w, state["updated"]))
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        fetch_keeping_progress(site, folder, path, backoff=0.3)
    finally:
        done.set()
        watcher.join()
    assert sorted(seen) == [1, 2, 3], seen
    answers = [seen[n][0]["answer"] for n in (1, 2, 3)]
    assert answers[:2] == ["HTTP 500 Internal Server Error"] * 2
    assert "body cut" in answers[2]
    for n, (w, written) in seen.items():
        assert w["file"] == site.file
        assert written < w["next_try"] <= written + 0.3 * 2 ** (n - 1) + 0.1
        assert 55 < w["budget_ends"] - written <= 60 and w["tries_left"] < 20
    assert json.loads(path.read_text())["waiting"] == []  # the file came: no wait left


def test_a_progress_file_left_mid_write_by_a_killed_job_is_cleared(tmp_path):
    """SIGKILL while the progress file was being replaced leaves its temporary copy; the
    next job of that log clears it (tests/test_faults_process.py finds no leftover)."""
    from sezlights.download import Progress

    (tmp_path / ".2019-02.log.progress.gjm0cjrd.tmp").write_text("{}")
    (tmp_path / "unrelated.tmp").write_text("")
    Progress(tmp_path / "2019-02.log.progress", "eog 2019-02")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["unrelated.tmp"]
