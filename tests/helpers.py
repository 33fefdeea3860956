"""Helpers shared by the tests: a working copy of the workflow, Snakemake runs, and
independent references (numpy + shapely, no raster library) to check results with."""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pandas as pd
import requests
import shapely
import yaml
from sezlights_standin import blackmarble_tiles, eog_tiles
from sezlights_standin.earthdata import EarthdataServer, make_token
from sezlights_standin.httpserver import StandinServer

from sezlights import sources
from sezlights.download import Progress, download
from sezlights.http import Budget
from sezlights.manifest import Part
from sezlights.sources import Source, blackmarble, eog

REPO = Path(__file__).resolve().parents[1]
PIXEL_ARCSEC = 600  # 1/40 of the real resolution: 720 x 450 pixels per northern EOG tile
PIXEL = PIXEL_ARCSEC / 3600
SERVER_PATH = "nighttime_light/monthly/v10"
USER, PASSWORD = "alice", "s3cret-pw"
CLIENT_ID, CLIENT_SECRET = "alice-scripts", "client-s3cret-9f1b"
# an Earthdata user token as Earthdata Login hands them out (a JWT; valid until 2100)
EARTHDATA_TOKEN = make_token("alice", expires=4102444800)
SECRETS = (PASSWORD, CLIENT_SECRET, EARTHDATA_TOKEN)
CURRENT_MARKERS: set[str] = set()  # the running test's markers (conftest.pytest_runtest_setup)


def eog_env(**extra) -> dict[str, str]:
    """The test credentials as environment variables (``extra`` replaces some)."""
    env = dict(
        EOG_USERNAME=USER, EOG_PASSWORD=PASSWORD, EOG_CLIENT_ID=CLIENT_ID,
        EOG_CLIENT_SECRET=CLIENT_SECRET, EARTHDATA_TOKEN=EARTHDATA_TOKEN,
    )  # fmt: skip
    env.update(extra)
    return env


def workflow_dir(tmp_path: Path, eog_server=None, laads_server=None, **overrides) -> Path:
    """A working copy of the workflow with a config pointing at the stand-ins.

    ``overrides``: top-level config keys to set, sections updated (e.g. ``sources=[...]``,
    ``eog={"product": ...}``).
    """
    work = tmp_path / "work"
    work.mkdir(parents=True)
    for d in ("workflow", "profiles", "config"):
        shutil.copytree(REPO / d, work / d, ignore=shutil.ignore_patterns("__pycache__"))
    cfg = yaml.safe_load((REPO / "config/demo.yaml").read_text())
    cfg["sources"] = ["eog"]
    cfg["listings"] = {"refresh": "daily"}  # the default; tests of republished files say always
    cfg.setdefault("mosaic", {})["keep"] = False  # tests that want mosaics ask for them
    # the demo's rings, kept attributes and start dates: tests that want them ask for them
    for key in ("rings_km", "start_field", "keep_fields"):
        cfg["zones"].pop(key, None)
    if eog_server is not None:
        cfg["eog"]["base_url"] = f"{eog_server.url}/{SERVER_PATH}"
        cfg["eog"]["auth"]["token_url"] = eog_server.token_url
    if laads_server is not None:
        cfg["blackmarble"].update(blackmarble_urls(laads_server))
    for key, value in overrides.items():
        if isinstance(value, dict):
            cfg[key] = {**cfg.get(key, {}), **value}
        else:
            cfg[key] = value
    (work / "config" / "test.yaml").write_text(yaml.safe_dump(cfg))
    return work


def blackmarble_urls(server) -> dict:
    """The blackmarble config keys that point at a stand-in: the Earthdata Cloud one (CMR
    and the cloud host, the default endpoint) or the ladsweb one."""
    if isinstance(server, EarthdataServer):
        return {"endpoint": "cloud", "cmr_url": server.cmr_url, "cloud_url": server.cloud_url}
    return {"endpoint": "ladsweb", "ladsweb_url": f"{server.url}/archive/allData"}


def snakemake(
    work: Path,
    *args,
    check=True,
    wait=True,
    env=None,
    profile="profiles/laptop",
    cores=2,
    configfile="config/test.yaml",
    timeout=600,
    drop=(),
):
    """Run snakemake in ``work`` with the test credentials (``drop``: names to unset).

    ``profile`` and ``cores`` (None: no ``--cores``) choose where jobs run; ``env``
    adds environment variables.
    """
    if "workflow" not in CURRENT_MARKERS:
        raise AssertionError(
            "this test runs Snakemake: mark it `workflow` (make check skips those)"
        )
    full = {**os.environ, **eog_env(), **(env or {})}
    for name in ("EOG_TOKEN", *drop):
        if name not in (env or {}):
            full.pop(name, None)
    full["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{full['PATH']}"
    cmd = [sys.executable, "-m", "snakemake"]
    cmd += ["--profile", profile] if profile else []
    cmd += ["--configfile", configfile] if configfile else []
    cmd += ["--cores", str(cores)] if cores else []
    cmd += list(args)
    if not wait:  # output goes to work/snakemake.out; the caller kills or waits
        with open(work / "snakemake.out", "w") as out:
            return subprocess.Popen(
                cmd, cwd=work, env=full, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
    p = subprocess.run(cmd, cwd=work, env=full, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({p.returncode}):\n{p.stdout[-4000:]}\n{p.stderr[-6000:]}"
        )
    return p


def last_line(p) -> str:
    lines = [ln for ln in (p.stdout + p.stderr).splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def edit_config(work: Path, change) -> None:
    """Apply ``change(cfg)`` to the working copy's config/test.yaml."""
    path = work / "config/test.yaml"
    cfg = yaml.safe_load(path.read_text())
    change(cfg)
    path.write_text(yaml.safe_dump(cfg))


def set_months(work: Path, start: str, end: str):
    edit_config(work, lambda cfg: cfg.update(months={"start": start, "end": end}))


def read_table(path) -> pd.DataFrame:
    from sezlights import table

    return table.read(path)


def files_containing(root: Path, *secrets: str) -> list[Path]:
    """Every file under ``root`` that contains one of ``secrets``."""
    hits = []
    for f in root.rglob("*"):
        if f.is_file() and not f.is_symlink():
            data = f.read_bytes()
            if any(s.encode() in data for s in secrets):
                hits.append(f)
    return hits


def kill_when(proc, ready, timeout=120):
    """SIGKILL the whole snakemake process group as soon as ``ready()`` holds."""
    deadline = time.time() + timeout
    while time.time() < deadline and not ready():
        if proc.poll() is not None:
            raise AssertionError("snakemake ended before the fault could be injected")
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert ready(), "the stage never started"


def interrupt_when(proc, ready, timeout=120, within=30):
    """Ctrl-C as a terminal sends it: SIGINT to the whole snakemake process group (Snakemake
    and its jobs) as soon as ``ready()`` holds; the run must end within ``within`` s.
    Returns the seconds it took to end (what it printed is ``work/snakemake.out``)."""
    deadline = time.time() + timeout
    while time.time() < deadline and not ready():
        if proc.poll() is not None:
            raise AssertionError("snakemake ended before it could be interrupted")
        time.sleep(0.01)
    assert ready(), "the stage never started"
    os.killpg(proc.pid, signal.SIGINT)
    t0 = time.time()
    try:
        proc.wait(timeout=within)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        raise AssertionError(f"snakemake did not end within {within} s of Ctrl-C") from None
    return time.time() - t0


# ---------------------------------------------------------------- references


def eog_globe(month: str, pixel: float = PIXEL):
    """EOG's whole synthetic globe (radiance, cf_cvg) as numpy arrays, on its lattice."""
    ts = eog.tileset(pixel)
    lat = ts.lattice
    rad = np.full((lat.rows, lat.cols), np.nan, np.float32)
    cvg = np.zeros((lat.rows, lat.cols), np.float32)
    for tile in ts.ids:
        w = ts.window(tile)
        r, c = eog_tiles.tile_arrays(month, tile, pixel)
        sl = (slice(w.row_off, w.row_off + w.height), slice(w.col_off, w.col_off + w.width))
        rad[sl], cvg[sl] = r, c
    return rad, cvg, lat


def blackmarble_globe(
    month: str,
    tiles,
    pixel: float = PIXEL,
    quality=(0,),
    variable=None,
    files=None,
    min_cloud_free=1,
    product="VNP46A3",
):
    """Black Marble radiance (NaN where fill, rejected quality or absent tile) and
    observation count (0 there), on its lattice, read back with h5py from the HDF5
    files the LAADS stand-in serves (no sezlights reader code): each tile's place from
    the file's own bounding coordinates, scale, offset and fill from each dataset's
    own attributes.

    ``files``: the files (paths), or a LAADS tree to find the month's files in; None
    writes the tiles with the stand-in's writer into a temporary folder first.
    An accepted gap-filled pixel (quality 2: ``_Num`` 0, its value a gap fill from
    earlier months) counts as observed whatever its count: its count here is at least
    ``min_cloud_free``, so that :func:`oracle`'s count rule passes it.
    """
    import re
    import tempfile

    import h5py

    variable = variable or "NearNadir_Composite_Snow_Free"
    group = "HDFEOS/GRIDS/VIIRS_Grid_DNB_2d/Data Fields"
    lat = blackmarble.tileset(pixel).lattice
    doy = f"{pd.Timestamp(month + '-01').day_of_year:03d}"
    name = re.compile(rf"^{product}\.A{month[:4]}{doy}\.(h\d\dv\d\d)\.\d{{3}}\.\d{{13}}\.h5$")
    if files is None:
        with tempfile.TemporaryDirectory(prefix="bm-globe-") as root:
            blackmarble_tiles.make_tree(
                root, month, month, pixel * 3600, tiles=tiles, products=[product]
            )
            return blackmarble_globe(
                month, tiles, pixel, quality, variable, root, min_cloud_free, product
            )
    if isinstance(files, (str, Path)):
        files = Path(files).rglob("*.h5")
    paths = {m[1]: Path(f) for f in files if (m := name.match(Path(f).name)) and m[1] in tiles}

    def attr(ds, key, default):
        v = ds.attrs.get(key)
        return default if v is None else np.asarray(v).ravel()[0].item()

    rad = np.full((lat.rows, lat.cols), np.nan, np.float32)
    num = np.zeros((lat.rows, lat.cols), np.float32)
    covered = np.zeros((lat.rows, lat.cols), bool)
    for path in paths.values():
        with h5py.File(path, "r") as f:
            fields = f[group]
            r_ds, q_ds, n_ds = (fields[variable + k] for k in ("", "_Quality", "_Num"))
            raw, q, n = r_ds[:], q_ds[:], n_ds[:]
            scale = attr(r_ds, "scale_factor", 1.0)
            offset = attr(r_ds, "add_offset", attr(r_ds, "offset", 0.0))
            r = (raw.astype(np.float64) * scale + offset).astype(np.float32)
            fill = raw == np.asarray(attr(r_ds, "_FillValue", np.nan), dtype=raw.dtype)
            q_fill = q == attr(q_ds, "_FillValue", 255)
            c = np.where(n == attr(n_ds, "_FillValue", 65535), 0, n).astype(np.float32)
            row0 = round((90 - float(f.attrs["NorthBoundingCoord"])) / pixel)
            col0 = round((float(f.attrs["WestBoundingCoord"]) + 180) / pixel)
        accepted = np.isin(q, quality) & ~q_fill & ~fill
        r[~accepted] = np.nan
        gap = accepted & (q == 2)
        c[gap] = np.maximum(c[gap], min_cloud_free)
        sl = (slice(row0, row0 + raw.shape[0]), slice(col0, col0 + raw.shape[1]))
        rad[sl], num[sl], covered[sl] = r, c, True
    return rad, num, covered, lat


def oracle(geom, rad, cvg, lat, covered=None, weighting="coverage", min_cloud_free=1):
    """A zone's statistics computed by hand: every pixel box near the zone intersected
    with it by shapely (no raster library), weighted by its share inside the zone.

    A lattice all the way round the globe wraps: a pixel box is also tried 360 degrees
    east and west of itself, so the part of a zone beyond the lattice's edge lands in
    the pixels at its other end."""
    p = lat.pixel
    wraps = abs(lat.cols * p - 360) < 1e-9
    share: dict[tuple[int, int], float] = {}
    for shift in (-360.0, 0.0, 360.0) if wraps else (0.0,):
        minx, miny, maxx, maxy = geom.bounds
        minx, maxx = minx - shift, maxx - shift  # the zone seen from the shifted lattice
        c0 = max(0, int((minx - lat.west) // p) - 1)
        c1 = min(lat.cols, int((maxx - lat.west) // p) + 2)
        r0 = max(0, int((lat.north - maxy) // p) - 1)
        r1 = min(lat.rows, int((lat.north - miny) // p) + 2)
        if r1 <= r0 or c1 <= c0:
            continue
        rr, cc = np.mgrid[r0:r1, c0:c1]
        x = lat.west + cc * p + shift
        y = lat.north - rr * p
        f = shapely.area(shapely.intersection(shapely.box(x, y - p, x + p, y), geom)) / (p * p)
        for r, c, v in zip(rr.ravel(), cc.ravel(), f.ravel(), strict=True):
            if v > 0:
                share[(int(r), int(c))] = share.get((int(r), int(c)), 0.0) + float(v)
    if not share:  # wholly off the lattice
        return {"pixels": 0.0, "pixels_observed": 0.0, "quality": "outside_coverage"}
    rows = np.array([k[0] for k in share])
    cols = np.array([k[1] for k in share])
    frac = np.array(list(share.values()))
    sel = frac > 1e-9
    rows, cols = rows[sel], cols[sel]
    w = frac[sel] if weighting == "coverage" else np.ones(sel.sum())
    r = rad[rows, cols].astype(np.float64)
    c = cvg[rows, cols].astype(np.float64)
    cov = covered[rows, cols] if covered is not None else np.ones(r.size, bool)
    obs = cov & np.isfinite(r) & (c >= min_cloud_free)
    out = {"pixels": w.sum(), "pixels_observed": w[obs].sum()}
    if not cov.any():
        out["quality"] = "outside_coverage"
        return out
    out["cf_cvg_mean"] = (w[cov] * c[cov]).sum() / w[cov].sum()
    out["cf_cvg_min"] = c[cov].min()
    if not obs.any():
        out.update(observed_share=0.0, quality="no_cloud_free")
        return out
    wo, vo = w[obs], r[obs]
    mean = (wo * vo).sum() / wo.sum()
    out.update(
        sum=(wo * vo).sum(),
        mean=mean,
        std=np.sqrt((wo * (vo - mean) ** 2).sum() / wo.sum()),
        min=vo.min(),
        max=vo.max(),
        median=_weighted_median(vo, wo),
        observed_share=wo.sum() / w.sum(),
        # "ok" when the share, written to 4 decimals, is 1
        quality="ok" if round(wo.sum() / w.sum(), 4) == 1 else "partly_observed",
    )
    return out


def _weighted_median(x, w):
    """The weighted median written out value by value: walk the values in ascending
    order adding up their weights; the median is the value where the sum reaches half
    the total, or the midpoint of it and the next value where it reaches half exactly."""
    pairs = sorted(zip(x.tolist(), w.tolist(), strict=True))
    half = 0.5 * sum(w.tolist())
    running = 0.0
    for i, (value, weight) in enumerate(pairs):
        running += weight
        if math.isclose(running, half, rel_tol=1e-9) and i + 1 < len(pairs):
            return 0.5 * (value + pairs[i + 1][0])
        if running > half:
            return value
    return pairs[-1][0]


def check_against_oracle(table: pd.DataFrame, zones, globes, rel=1e-4, **kw):
    """Every (zone, month) row of ``table`` (one series) against :func:`oracle`
    (``globes[month]``)."""
    assert table[["zone_id", "month"]].duplicated().sum() == 0, "one series at a time"
    for (zid, month), row in table.set_index(["zone_id", "month"]).iterrows():
        geom = zones.set_index("zone_id").geometry[zid]
        ref = oracle(geom, *globes[month], **kw)
        assert row["quality"] == ref["quality"], (zid, month, row["quality"], ref)
        for k, v in ref.items():
            if k == "quality":
                continue
            assert row[k] == _approx(v, rel), (zid, month, k, row[k], v)


def approx(column: str, value, rel=1e-4):
    """``value`` as the table writes ``column``: shares to 4 decimals, areas to 3."""
    import pytest

    absolute = {"observed_share": 5e-5, "area_km2": 5e-4}.get(column, 1e-6)
    return pytest.approx(value, rel=rel, abs=absolute)


def _approx(v, rel):
    import pytest

    return pytest.approx(v, rel=rel, abs=1e-6)


def make_config(**sections) -> dict:
    """A full config as the workflow sees it: the demo's, with the schema's defaults."""
    from snakemake.utils import validate

    cfg = yaml.safe_load((REPO / "config/demo.yaml").read_text())
    for key, value in sections.items():
        cfg[key] = {**cfg.get(key, {}), **value} if isinstance(value, dict) else value
    validate(cfg, str(REPO / "workflow/schemas/config.schema.yaml"))
    return cfg


def full_log(work: Path) -> str:
    """Snakemake's complete log of the latest run (.snakemake/log/), which keeps the
    messages the console leaves out (storage uploads, temporary files removed)."""
    logs = sorted(
        (work / ".snakemake/log").glob("*.snakemake.log"), key=lambda p: p.stat().st_mtime
    )
    return logs[-1].read_text() if logs else ""


# ---------------------------------------------------------------- stand-ins

# Black Marble tiles the test LAADS tree holds (a month's listing on LAADS can lack tiles)
BM_TILES = ["h21v08", "h21v09", "h20v12", "h24v06", "h08v07", "h22v08", "h23v06", "h24v07"]


def eog_standin(root: Path, **kw):
    """An EOG stand-in serving ``root``, knowing the test account and its client."""
    from sezlights_standin.eog import EOGServer

    kw.setdefault("users", {USER: PASSWORD})
    kw.setdefault("clients", {CLIENT_ID: CLIENT_SECRET})
    return EOGServer(root, **kw)


# One file of each source, listed and ready to download (tests of downloads and faults).

SITE_MONTH = "2019-01"
EOG_TILE = "75N060W"
BM_TILE = BM_TILES[0]  # h21v08
# EOG; Black Marble from the ladsweb archive; Black Marble from the Earthdata Cloud
SOURCES = ("eog", "blackmarble", "cloud")


def eog_source(server, **download_cfg) -> Source:
    cfg = make_config(
        eog={"base_url": f"{server.url}/{SERVER_PATH}", "auth": {"token_url": server.token_url}},
        download=download_cfg,
    )
    return sources.get("eog", cfg)


def bm_source(server, products=("VNP46A3",), **download_cfg) -> Source:
    cfg = make_config(
        blackmarble={"products": list(products), **blackmarble_urls(server)},
        download=download_cfg,
    )
    return sources.get("blackmarble", cfg)


@dataclass
class Site:
    """One source's stand-in, an authenticated session, and one listed file."""

    name: str  # "eog" | "blackmarble"
    server: StandinServer
    src: Source
    session: requests.Session
    entry: Part  # the file as the month's manifest names it (name, url, size, ...)
    tile: str

    @property
    def file(self) -> str:
        return self.entry.name

    @property
    def real(self) -> Path:
        """The file as the server holds it."""
        if isinstance(self.server, EarthdataServer):
            return self.server.find(unquote(urlsplit(self.entry.url).path).split("/prod-lads/")[1])
        return self.server.root / unquote(urlsplit(self.entry.url).path).lstrip("/")

    @property
    def token(self) -> str:
        """The bearer token the session sends."""
        auth = self.session.headers.get("Authorization")
        return auth.split(" ", 1)[1] if auth else self.session.token["access_token"]

    def statuses(self) -> list[int]:
        """Status of every request for the file's bytes the server saw, in order (599:
        broken body); on the Earthdata Cloud, those at the signed address (the cloud
        host's redirects to it are :meth:`redirects`)."""
        return [
            s
            for _, p, s in self.server.requests
            if p.endswith(self.file) and (self.name != "cloud" or p.startswith("/signed/"))
        ]

    @property
    def bytes_path(self) -> str:
        """What a fault for the file's bytes matches: the file name, or on the Earthdata
        Cloud its signed address (the cloud host's redirect has its own faults)."""
        if self.name == "cloud":
            return unquote(urlsplit(self.entry.url).path).replace(
                "/prod-lads/", "/signed/prod-lads/"
            )
        return self.file

    def add_faults(self, *faults: str) -> None:
        self.server.add_faults(self.bytes_path, *faults)

    def redirects(self) -> list[int]:
        """Status of every request to the cloud host for the file (303: a signed URL)."""
        return [
            s
            for _, p, s in self.server.requests
            if p.endswith(self.file) and p.startswith("/prod-lads/")
        ]

    def static_session(self, token: str | None = None) -> requests.Session:
        """A session with a token the user got elsewhere (``EOG_TOKEN``, ``EARTHDATA_TOKEN``)."""
        if self.name == "eog":
            return self.src.session(
                {"EOG_TOKEN": token or self.server.issue_token(USER, CLIENT_ID)}
            )
        return self.src.session({"EARTHDATA_TOKEN": token or EARTHDATA_TOKEN})

    def fetch(
        self,
        folder: Path,
        *,
        seconds: float = 30,
        tries: int | None = 20,
        backoff: float = 0.01,
        timeout=(5, 10),
        session=None,
        progress_path=None,
    ) -> Path:
        """Download the file into ``folder`` with a budget of ``seconds`` and ``tries``."""
        from sezlights.http import child_session

        budget = Budget(seconds, tries, backoff)
        progress = Progress(progress_path, self.file) if progress_path else None
        try:
            return download(
                self.src.target(child_session(session or self.session, budget), self.entry),
                folder / self.file,
                verify=self.src.verify,
                budget=budget,
                signature=self.src.signature,
                timeout=timeout,
                progress=progress,
            )
        finally:
            if progress is not None:
                progress.close()


def make_site(request, which: str, **download_cfg) -> Site:
    """A :class:`Site` on a fresh copy of the source's tree (the tests may damage it)."""
    if which == "eog":
        server = request.getfixturevalue("eog_server")
        src = eog_source(server, **download_cfg)
        session = src.session(eog_env())
        tile = EOG_TILE
    else:
        server = request.getfixturevalue(
            "laads_server" if which == "blackmarble" else "earthdata_server"
        )
        src = bm_source(server, **download_cfg)
        session = src.session(eog_env())
        tile = BM_TILE
    entry = src.list_month(session, SITE_MONTH, [tile]).granules[0].parts[0]
    server.reset_log()  # the listing's requests are not the download's
    return Site(which, server, src, session, entry, tile)


# ---------------------------------------------------------------- files as a manifest has them


def local_granules(files, src: Source):
    """The granules of files on disk (in one folder), as a month's manifest lists them,
    and that folder: what :func:`sezlights.zonal.gather` reads."""
    from sezlights.manifest import Granule

    files = [Path(f) for f in files]
    out = []
    for f in files:
        m = (eog.FILE_RE if src.name == "eog" else blackmarble.FILE_RE).match(f.name)
        product = m["product"]
        satellite = m["satellite"] if src.name == "eog" else blackmarble.PRODUCTS[product][0]
        part = Part("file", f.name, f.as_uri())
        out.append(Granule(m["tile"], product, satellite, "download", (part,)))
    return out, (files[0].parent if files else None)


def zone_table(zones) -> pd.DataFrame:
    """The zone table of prepared zones (what prepare_zones writes to areas.csv): their
    kind, parent, ring distances and shape when they have them (rings: sezlights.areas)."""
    from sezlights.zones import geodesic_area_km2

    t = pd.DataFrame(
        {
            "zone_id": [str(z) for z in zones["zone_id"]],
            "area_km2": [0.0 if g.is_empty else geodesic_area_km2(g) for g in zones.geometry],
        }
    )
    for col in ("zone_kind", "parent_id", "ring_inner_km", "ring_outer_km", "shape"):
        if col in zones:
            t[col] = zones[col].to_numpy()
    return t


def stats_of(zones, files, src: Source, month: str, weighting="coverage", min_cloud_free=1,
             scratch=None, threads=1) -> pd.DataFrame:  # fmt: skip
    """The statistics of ``files`` (one month) for ``zones``, as the stats job computes
    them: the pixel index, the gather of each series, the reduction."""
    from sezlights import index, zonal

    idx = index.build_index(zones, src.tiles)
    granules, folder = local_granules(files, src)
    frames = []
    by_series: dict = {}
    for g in granules:
        by_series.setdefault(g.series, []).append(g)
    for (product, satellite), gs in by_series.items():
        values = zonal.gather(idx, gs, src, folder, scratch=scratch, threads=threads)
        frames.append(
            zonal.reduce(
                idx,
                values,
                zone_table(zones),
                month,
                src.name,
                satellite,
                product,
                weighting,
                min_cloud_free,
            )  # fmt: skip
        )
    return pd.concat(frames, ignore_index=True)
