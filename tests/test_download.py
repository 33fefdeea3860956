import io
import tarfile

import pytest
from conftest import SERVER_PATH, TOKEN

from sezlights import archive
from sezlights.discover import discover_month
from sezlights.download import download
from sezlights.errors import CorruptArchiveError, DownloadError, LoginError
from sezlights.http import get_token, make_session

AUTH = {"client_id": "eogdata_oidc", "client_secret": "x"}


def tile(server, month="2019-01", tid="75N060W"):
    m = discover_month(make_session(), f"{server.url}/{SERVER_PATH}", month, "vcmcfg", [tid])
    return m["tiles"][0]


def test_download_verifies_and_renames(tile_server, tmp_path):
    t = tile(tile_server)
    dest = download(make_session(token=TOKEN), t["url"], tmp_path / t["name"], t["size"], backoff=0)
    assert dest.stat().st_size == t["size"]
    assert not (tmp_path / (t["name"] + ".part")).exists()
    assert set(archive.verify(dest)) == {"avg_rade9h", "cf_cvg"}


def test_resumes_a_partial_file_with_range(tile_server, tmp_path):
    t = tile(tile_server)
    src = (tile_server.tree / "2019/201901/vcmcfg" / t["name"]).read_bytes()
    (tmp_path / (t["name"] + ".part")).write_bytes(src[: len(src) // 3])
    download(make_session(token=TOKEN), t["url"], tmp_path / t["name"], t["size"], backoff=0)
    assert (tmp_path / t["name"]).read_bytes() == src
    assert ("GET", f"/{SERVER_PATH}/2019/201901/vcmcfg/{t['name']}", 206) in tile_server.requests


def test_recovers_from_503_storm_and_cut_body(tile_server, tmp_path):
    t = tile(tile_server)
    tile_server.add_faults("75N060W", "503", "503", "503", "cut", "503", "cut")
    s = make_session(token=TOKEN, backoff=0)
    download(s, t["url"], tmp_path / t["name"], t["size"], backoff=0)
    assert (tmp_path / t["name"]).stat().st_size == t["size"]


def test_gives_up_clearly_and_keeps_the_part(tile_server, tmp_path):
    t = tile(tile_server)
    tile_server.add_faults("75N060W", *(["cut"] * 3))
    with pytest.raises(DownloadError, match="after 2 attempts.*resumes"):
        download(
            make_session(token=TOKEN),
            t["url"],
            tmp_path / t["name"],
            t["size"],
            attempts=2,
            backoff=0,
        )
    assert not (tmp_path / t["name"]).exists()
    assert (tmp_path / (t["name"] + ".part")).exists()


@pytest.mark.parametrize("fault", ["401", "403", "html"])
def test_login_failures(tile_server, tmp_path, fault):
    t = tile(tile_server)
    tile_server.add_faults("75N060W", fault)
    with pytest.raises(
        LoginError, match="login failed: set EOG_TOKEN or EOG_USERNAME/EOG_PASSWORD"
    ):
        download(make_session(token=TOKEN), t["url"], tmp_path / t["name"], t["size"], backoff=0)
    gets = [r for r in tile_server.requests if r[1].endswith(".tgz")]
    assert len(gets) == 1  # no retry storm
    assert not list(tmp_path.iterdir())


def test_no_token_is_a_login_error(tile_server, tmp_path):
    t = tile(tile_server)
    with pytest.raises(LoginError, match="login failed"):
        download(make_session(), t["url"], tmp_path / t["name"], t["size"], backoff=0)


def test_password_exchange(tile_server):
    auth = dict(AUTH, token_url=tile_server.token_url)
    env = {"EOG_USERNAME": "alice", "EOG_PASSWORD": "s3cret-pw"}
    assert get_token(auth, env) == TOKEN
    assert get_token(auth, {"EOG_TOKEN": "abc"}) == "abc"
    assert get_token(auth, {}) is None
    with pytest.raises(LoginError, match="rejected the username/password") as exc:
        get_token(auth, {"EOG_USERNAME": "alice", "EOG_PASSWORD": "wrong-pw"})
    assert "wrong-pw" not in str(exc.value)


def test_corrupt_archive_is_removed(tile_server, tmp_path):
    d = tile_server.tree / "2019/201901/vcmcfg"
    p = next(d.glob("*75N060W*"))
    data = bytearray(p.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\0" * 64
    p.write_bytes(bytes(data))
    t = tile(tile_server)
    with pytest.raises(CorruptArchiveError, match="corrupt.*download it anew"):
        download(make_session(token=TOKEN), t["url"], tmp_path / t["name"], t["size"], backoff=0)
    assert not list(tmp_path.iterdir())


def _tgz(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)


@pytest.mark.parametrize(
    "name, kind",
    [
        ("../evil.avg_rade9h.tif", tarfile.REGTYPE),
        ("/tmp/evil.avg_rade9h.tif", tarfile.REGTYPE),
        ("x.avg_rade9h.tif", tarfile.SYMTYPE),
        ("../" + "d" * 120 + "/evil.avg_rade9h.tif", tarfile.REGTYPE),  # in a pax header
    ],
)
def test_archive_members_escaping_are_refused(tmp_path, name, kind):
    info = tarfile.TarInfo(name)
    info.type = kind
    data = b"abc"
    if kind == tarfile.SYMTYPE:
        info.linkname, data = "/etc/passwd", None
    else:
        info.size = len(data)
    arc = tmp_path / "bad.tgz"
    _tgz(arc, [(info, data)])
    out = tmp_path / "out"
    with pytest.raises(CorruptArchiveError, match="refusing"):
        archive.extract(arc, out)
    with pytest.raises(CorruptArchiveError, match="refusing"):
        archive.verify(arc)
    assert not list(out.iterdir())
    assert not (tmp_path / "evil.avg_rade9h.tif").exists()


def test_archives_with_extension_headers_are_read(tmp_path):
    """Long member names (pax or GNU headers) take tarfile's own reader."""
    long = "x" * 120
    for fmt in (tarfile.PAX_FORMAT, tarfile.GNU_FORMAT):
        arc = tmp_path / f"long-{fmt}.tgz"
        with tarfile.open(arc, "w:gz", format=fmt) as tar:
            for kind, data in (("avg_rade9h", b"r" * 1000), ("cf_cvg", b"c" * 513)):
                info = tarfile.TarInfo(f"{long}.{kind}.tif")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        assert archive.verify(arc) == {"avg_rade9h": 1000, "cf_cvg": 513}
        out = archive.extract(arc, tmp_path / f"out-{fmt}")
        assert out["cf_cvg"].read_bytes() == b"c" * 513


def test_truncated_archive_is_corrupt(tile_server, tmp_path):
    p = next((tile_server.tree / "2019/201901/vcmcfg").glob("*00N060W*"))
    cut = tmp_path / p.name
    cut.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    with pytest.raises(CorruptArchiveError, match="corrupt"):
        archive.verify(cut)
