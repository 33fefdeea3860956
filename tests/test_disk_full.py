"""A full disk, for real: one line naming the path and how much the step needs.

The issue: a full disk was reported as "unexpected error ... a bug: please report it"
with 18 tracebacks. Two real out-of-space conditions, no mocks:

- ``/dev/full``: every write to it fails with ``ENOSPC``. A download's ``.part`` made a
  symbolic link to it runs out of space in the middle of the body, whatever the disk.
  Needs no privilege.
- a small tmpfs (``mount -t tmpfs -o size=64k``): a real file system with 64 KiB free,
  for the check made before writing (``Content-Length`` larger than the free space) and
  for a plain write that fills it up. Mounting needs root (or CAP_SYS_ADMIN); where it is
  not permitted those tests are skipped, saying so.

The jobs' glue (:func:`sezlights.job.run_step`) is driven with a minimal stand-in for
Snakemake's ``snakemake`` object (``log`` and ``rule``), and the whole thing once more
through Snakemake and the console. Besides downloads, the steps that know what they
will write say so (:mod:`sezlights.disk`): a GeoTIFF band unpacked to disk (the
member's size), a mosaic (rows x columns x 4 bytes per band).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers import SOURCES, last_line, make_site, snakemake, workflow_dir

from sezlights import disk
from sezlights.errors import DiskFullError

SMALL = 64 * 1024  # bytes of the small tmpfs
REMEDY = (
    "free some space on that disk (or move the working directory to a larger one) and run again."
)


@pytest.fixture(params=SOURCES)
def site(request):
    return make_site(request, request.param)


@pytest.fixture
def dev_full():
    """``/dev/full``, after checking that writing to it really fails with ENOSPC."""
    try:
        with open("/dev/full", "wb", buffering=0) as f:
            f.write(b"x")
    except OSError as exc:
        if exc.errno == 28:  # ENOSPC: what the tests need
            return Path("/dev/full")
        pytest.skip(f"/dev/full does not behave as a full disk here ({exc})")
    pytest.skip("/dev/full accepted a write here: no full disk to test with")


@pytest.fixture
def small_disk():
    """``mount(path)``: a real 64 KiB tmpfs at ``path`` (unmounted after the test)."""
    mounted: list[Path] = []

    def mount(path: Path) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        if shutil.which("mount") is None:
            pytest.skip("no mount command: cannot make a small file system here")
        if os.geteuid() != 0:
            pytest.skip("mounting a small tmpfs needs root (or CAP_SYS_ADMIN); not permitted here")
        cmd = ["mount", "-t", "tmpfs", "-o", f"size={SMALL},mode=0755", "tmpfs", str(path)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here: {r.stderr.strip() or r.returncode}")
        mounted.append(path)
        assert shutil.disk_usage(path).free == SMALL
        return path

    yield mount
    for path in reversed(mounted):
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def disk_message(path, free: int, need: int) -> str:
    return (
        f"out of disk space writing {path} ({disk.human_bytes(free)} free there; this step "
        f"needs about {disk.human_bytes(need)}): {REMEDY}"
    )


# ---------------------------------------------------------------- the download


def test_a_file_larger_than_the_free_space_is_refused_before_writing(site, small_disk, tmp_path):
    folder = small_disk(tmp_path / "files")
    size = site.real.stat().st_size
    assert size > SMALL
    with pytest.raises(DiskFullError) as exc:
        site.fetch(folder)
    part = folder / (site.file + ".part")
    assert str(exc.value) == disk_message(part, SMALL, size)
    assert not list(folder.iterdir())  # not a byte written: not even an empty .part
    assert shutil.disk_usage(folder).free == SMALL
    assert site.statuses() == [200]  # the answer's headers were enough; no retry


def test_a_disk_that_fills_up_mid_write_names_the_file(site, dev_full, tmp_path):
    part = tmp_path / (site.file + ".part")
    part.symlink_to(dev_full)
    size = site.real.stat().st_size
    with pytest.raises(DiskFullError) as exc:
        site.fetch(tmp_path)
    free = shutil.disk_usage(tmp_path).free
    text = str(exc.value)
    assert text.startswith(f"out of disk space writing {part} (")
    assert text.endswith(f"free there; this step needs about {disk.human_bytes(size)}): {REMEDY}")
    # the free space of the folder's disk (not of /dev/full's), as rounded in the message
    assert abs(free - _free_in(text)) <= 0.01 * free
    assert not (tmp_path / site.file).exists()
    assert site.statuses() == [200]  # a full disk is not worth another try


def _free_in(text: str) -> float:
    m = re.search(r"\(([\d.]+) (B|KB|MB|GB|TB) free there", text)
    return float(m[1]) * 1000 ** ["B", "KB", "MB", "GB", "TB"].index(m[2])


# ---------------------------------------------------------------- the job's glue


def test_a_download_job_ends_with_one_line(site, dev_full, tmp_path, step_logging):
    """run_step + Source.download: exit status 1, the log's last line says it all."""
    from sezlights.job import run_step

    dest = tmp_path / "files" / site.file
    dest.parent.mkdir()
    part = dest.with_name(dest.name + ".part")
    part.symlink_to(dev_full)
    log = tmp_path / "logs" / f"{site.file}.log"
    snake = SimpleNamespace(log=[str(log)], rule="download_month_files")

    def step():
        from sezlights.download import Progress

        progress = Progress(f"{log}.progress", site.file)
        try:
            site.src.download(site.session, site.entry, dest, progress=progress)
        finally:
            progress.close()

    with pytest.raises(SystemExit) as exc:
        run_step(snake, step)
    assert exc.value.code == 1
    text = log.read_text()
    last = text.splitlines()[-1]
    size = site.real.stat().st_size
    assert last.startswith(f"ERROR out of disk space writing {part} (")
    assert f"; this step needs about {disk.human_bytes(size)}): {REMEDY}" in last
    assert "Traceback" not in text and "a bug" not in text
    assert not Path(f"{log}.progress").exists()


def test_any_step_out_of_space_names_what_it_writes(small_disk, tmp_path, step_logging):
    """A write that fills a real small disk, with no file name in the error (as from
    GDAL or a plain write): the message names what the step said it would write."""
    from sezlights.job import run_step

    out = small_disk(tmp_path / "small") / "mosaic.tif"
    log = tmp_path / "logs" / "step.log"

    def step():
        disk.expect_disk(out, 1_000_000)
        with open(out, "wb") as f:
            f.write(bytes(1_000_000))

    with pytest.raises(SystemExit) as exc:
        run_step(SimpleNamespace(log=[str(log)], rule="mosaic_month"), step)
    assert exc.value.code == 1
    text = log.read_text()
    assert text.splitlines()[-1] == f"ERROR {disk_message(out, 0, 1_000_000)}"
    assert "Traceback" not in text


def test_a_step_that_noted_nothing_names_its_output(small_disk, tmp_path, step_logging):
    """No file name in the error and nothing noted: the job's first output is named."""
    from sezlights.job import run_step

    out = small_disk(tmp_path / "small") / "month.csv"
    log = tmp_path / "logs" / "step.log"

    def step():
        with open(out, "wb") as f:
            f.write(bytes(200_000))

    snake = SimpleNamespace(log=[str(log)], rule="compute_zone_stats", output=[str(out)])
    with pytest.raises(SystemExit):
        run_step(snake, step)
    last = log.read_text().splitlines()[-1]
    assert last == f"ERROR out of disk space writing {out} (0 B free there): {REMEDY}"


# ---------------------------------------------------------------- other steps


def test_the_library_does_not_import_the_script_glue():
    code = (
        "import sys, sezlights.download, sezlights.mosaic, sezlights.tiffrows; "
        "print('sezlights.job' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_band_unpacked_to_disk_says_it_needs_the_members_size(small_disk, tmp_path):
    """A GeoTIFF member that cannot be read from the stream (tiled, compressed) is unpacked
    to the scratch folder: on a disk with less room than the member, the message says
    how much the step needs there."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    from sezlights.tiffrows import StreamedTiff

    member = tmp_path / "avg_rade9h.tif"
    values = np.random.default_rng(1).random((256, 256), dtype=np.float32)  # incompressible
    profile = dict(driver="GTiff", width=256, height=256, count=1, dtype="float32")
    profile.update(crs="EPSG:4326", transform=from_origin(0, 10, 0.1, 0.1))
    with rasterio.open(member, "w", tiled=True, compress="deflate", **profile) as dst:
        dst.write(values, 1)
    size = member.stat().st_size
    assert size > SMALL
    scratch = small_disk(tmp_path / "small") / "scratch"
    with open(member, "rb") as f, pytest.raises(DiskFullError) as exc:
        StreamedTiff(f, size, "tile.tgz (avg_rade9h.tif)", scratch)
    assert str(exc.value) == disk_message(scratch, SMALL, size)
    assert not list(scratch.glob(".gather-*"))  # nothing left behind


@pytest.fixture
def mosaic_step(eog_tree, step_logging):
    """``run(out, scratch)``: mosaic_month's step on one synthetic EOG tile; returns the
    log's last line and the mosaic's size in pixels."""
    from helpers import PIXEL_ARCSEC, SERVER_PATH, local_granules, make_config

    from sezlights import sources
    from sezlights.job import run_step
    from sezlights.mosaic import build_mosaic

    src = sources.get("eog", make_config(sources=["eog"], eog={"pixel_arcsec": PIXEL_ARCSEC}))
    archive = next((eog_tree / SERVER_PATH / "2019/201901/vcmcfg").glob("*_75N060W_*"))
    west, south, east, north = src.tiles.lattice.window_bounds(src.tiles.window("75N060W"))
    bounds = (west + 1, south + 1, east - 1, north - 1)
    win = src.tiles.lattice.window_for_bounds(bounds, pad=1)

    def run(out: Path, scratch: Path, log: Path):
        band = {k: out / f"{k}.tif" for k in ("radiance", "coverage")}
        snake = SimpleNamespace(log=[str(log)], rule="mosaic_month", output=[str(band["radiance"])])
        with pytest.raises(SystemExit) as exc:
            granules = {("vcmcfg", "npp"): local_granules([archive], src)[0]}
            run_step(
                snake,
                lambda: build_mosaic(
                    granules, src, bounds, band, archive.parent, None, True, scratch
                ),
            )
        assert exc.value.code == 1
        text = log.read_text()
        assert "Traceback" not in text and "a bug" not in text
        return text.splitlines()[-1], int(win.height) * int(win.width)

    return run


def test_a_mosaic_out_of_space_says_how_much_it_needs(small_disk, tmp_path, mosaic_step):
    # GDAL says only "Write failed": the step knows it was the disk, and its size
    small = small_disk(tmp_path / "small")
    last, pixels = mosaic_step(tmp_path / "mosaic", small / "scratch", tmp_path / "a.log")
    m = re.fullmatch(r"ERROR out of disk space writing (\S+) \((.+) free there; (.+)", last)
    assert m and Path(m[1]).parent == small / "scratch", last
    assert m[3] == f"this step needs about {disk.human_bytes(pixels * 4 * 2)}): {REMEDY}"
    # room to stitch, none for the Cloud-Optimized GeoTIFF: one band's worth, where it goes
    last, pixels = mosaic_step(small / "mosaic", tmp_path / "scratch", tmp_path / "b.log")
    m = re.fullmatch(r"ERROR out of disk space writing (\S+) \((.+) free there; (.+)", last)
    assert m and Path(m[1]).parent == small / "mosaic", last
    assert m[3] == f"this step needs about {disk.human_bytes(pixels * 4)}): {REMEDY}"
    assert not list((small / "mosaic").glob("*.tif"))  # nothing that looks complete


# ---------------------------------------------------------------- through Snakemake


@pytest.mark.parametrize("how", ["dev_full", "tmpfs"])
@pytest.mark.workflow
def test_a_full_disk_in_a_run_is_one_line(eog_server, tmp_path, request, how):
    work = workflow_dir(
        tmp_path,
        eog_server,
        sources=["eog"],
        months={"start": "2019-01", "end": "2019-01"},
    )
    files = work / "resources/files/eog/2019-01"
    staging = work / "resources/files/eog/.staging/2019-01"  # where a month's files come in
    sizes = {p.name: p.stat().st_size for p in (eog_server.tree / "2019/201901/vcmcfg").iterdir()}
    if how == "dev_full":
        full = request.getfixturevalue("dev_full")
        staging.mkdir(parents=True)
        name = next(n for n in sizes if "_75N060W_" in n)
        (staging / f"{name}.part").symlink_to(full)
    else:  # the tmpfs holds resources/files (Snakemake may prune empty folders below it)
        request.getfixturevalue("small_disk")(files.parents[1])
    p = snakemake(work, check=False)
    console = p.stdout + p.stderr
    assert p.returncode != 0
    assert "Traceback" not in console and "a bug" not in console and "OSError" not in console
    line = last_line(p)
    m = re.match(
        r"error: out of disk space writing resources/files/eog/\.staging/2019-01/(\S+)\.part \(",
        line,
    )
    assert m, line
    name = m[1]
    assert f"; this step needs about {disk.human_bytes(sizes[name])}): {REMEDY}" in line
    if how == "tmpfs":
        assert f"({disk.human_bytes(SMALL)} free there;" in line
    log = work / "logs/download/eog/2019-01.log"
    assert log.read_text().splitlines()[-1] == "ERROR " + line[len("error: ") :]
    assert not files.exists()  # nothing that looks complete: the month's folder is not there


def test_a_ctrl_c_while_the_job_sets_up_its_log_still_ends_the_log_on_one_line(tmp_path):
    """Ctrl-C between the log's creation and the job's work (here: while the peak-memory
    sampler starts) is held until the job can say it was interrupted: the log is never
    left empty, the status is 130."""
    log = tmp_path / "logs" / "step.log"
    script = tmp_path / "job.py"
    script.write_text(
        "import os, signal\n"
        "from types import SimpleNamespace\n"
        "from sezlights import job\n"
        "start = job.PeakRSS.start\n"
        "def start_with_ctrl_c(self):\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    return start(self)\n"
        "job.PeakRSS.start = start_with_ctrl_c\n"
        f"snake = SimpleNamespace(log=[{str(log)!r}], rule='compute_zone_stats')\n"
        "job.run_step(snake, lambda: None)\n"
    )
    p = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 130, p.stderr
    assert "Traceback" not in p.stderr
    assert log.read_text().splitlines()[-1].startswith("INTERRUPTED interrupted (Ctrl-C)")
