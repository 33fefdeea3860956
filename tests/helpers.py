"""Helpers shared by the tests: a working copy of the workflow, Snakemake runs, and
independent references (numpy + shapely, no raster library) to check results with."""

from __future__ import annotations

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

from sezlights import sources
from sezlights.download import download
from sezlights.http import Budget
from sezlights.sources import Source, blackmarble, eog
from sezlights.standin import blackmarble_tiles, eog_tiles
from sezlights.standin.httpserver import StandinServer

REPO = Path(__file__).resolve().parents[1]
PIXEL_ARCSEC = 600  # 1/40 of the real resolution: 720 x 450 pixels per northern EOG tile
PIXEL = PIXEL_ARCSEC / 3600
SERVER_PATH = "nighttime_light/monthly/v10"
USER, PASSWORD = "alice", "s3cret-pw"
CLIENT_ID, CLIENT_SECRET = "alice-scripts", "client-s3cret-9f1b"
EARTHDATA_TOKEN = "edl-token-7a1c3e"
SECRETS = (PASSWORD, CLIENT_SECRET, EARTHDATA_TOKEN)


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

    ``overrides``: top-level config sections to update (e.g. ``source={"name": ...}``).
    """
    work = tmp_path / "work"
    work.mkdir(parents=True)
    for d in ("workflow", "profiles", "config"):
        shutil.copytree(REPO / d, work / d, ignore=shutil.ignore_patterns("__pycache__"))
    cfg = yaml.safe_load((REPO / "config/demo.yaml").read_text())
    cfg["source"]["name"] = "eog"
    cfg["mosaic"]["keep"] = False  # tests that want mosaics ask for them
    if eog_server is not None:
        cfg["source"]["base_url"] = f"{eog_server.url}/{SERVER_PATH}"
        cfg["source"]["auth"]["token_url"] = eog_server.token_url
    if laads_server is not None:
        cfg["blackmarble"]["base_url"] = f"{laads_server.url}/archive/allData"
    for key, value in overrides.items():
        cfg[key] = {**cfg.get(key, {}), **value}
    (work / "config" / "test.yaml").write_text(yaml.safe_dump(cfg))
    return work


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


def blackmarble_globe(month: str, tiles, pixel: float = PIXEL, quality=(0,), variable=None):
    """Black Marble radiance (NaN where fill, rejected quality or absent tile) and
    observation count (0 there), from the synthetic HDF5 arrays, on its lattice."""
    variable = variable or "NearNadir_Composite_Snow_Free"
    ts = blackmarble.tileset(pixel)
    lat = ts.lattice
    rad = np.full((lat.rows, lat.cols), np.nan, np.float32)
    num = np.zeros((lat.rows, lat.cols), np.float32)
    covered = np.zeros((lat.rows, lat.cols), bool)
    for tile in tiles:
        w = ts.window(tile)
        a = blackmarble_tiles.tile_arrays(month, tile, pixel)
        r = a[variable].astype(np.float32)
        q = a[variable + "_Quality"]
        n = a[variable + "_Num"].astype(np.float32)
        bad = (r == np.float32(-999.9)) | ~np.isin(q, quality)
        r[bad] = np.nan
        n[n >= 65535] = 0
        sl = (slice(w.row_off, w.row_off + w.height), slice(w.col_off, w.col_off + w.width))
        rad[sl], num[sl], covered[sl] = r, n, True
    return rad, num, covered, lat


def oracle(geom, rad, cvg, lat, covered=None, weighting="coverage", min_cloud_free=1):
    """A zone's statistics computed by hand: every pixel box near the zone intersected
    with it by shapely (no raster library), weighted by its share inside the zone."""
    minx, miny, maxx, maxy = geom.bounds
    p = lat.pixel
    c0 = max(0, int((minx - lat.west) // p) - 1)
    c1 = min(lat.cols, int((maxx - lat.west) // p) + 2)
    r0 = max(0, int((lat.north - maxy) // p) - 1)
    r1 = min(lat.rows, int((lat.north - miny) // p) + 2)
    if r1 <= r0 or c1 <= c0:  # wholly off the lattice
        return {"pixels": 0.0, "pixels_observed": 0.0, "quality": "outside_coverage"}
    rows, cols = np.mgrid[r0:r1, c0:c1]
    x = lat.west + cols * p
    y = lat.north - rows * p
    boxes = shapely.box(x, y - p, x + p, y)
    frac = shapely.area(shapely.intersection(boxes, geom)) / (p * p)
    sel = frac > 1e-9
    w = frac[sel] if weighting == "coverage" else np.ones(sel.sum())
    r = rad[rows[sel], cols[sel]].astype(np.float64)
    c = cvg[rows[sel], cols[sel]].astype(np.float64)
    cov = covered[rows[sel], cols[sel]] if covered is not None else np.ones(r.size, bool)
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
        quality="ok" if obs.all() else "partly_observed",
    )
    return out


def _weighted_median(x, w):
    """exactextract's weighted_quantiles.cpp for q = 0.5, written out element by element."""
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    n = len(x)
    s = [0.0]
    cum = w[0]
    for i in range(1, n):
        s.append(i * w[i] + (n - 1) * cum)
        cum += w[i]
    target = 0.5 * w.sum() * (n - 1)
    right = next((i for i in range(n) if s[i] > target), None)
    if right is None:
        return x[-1]
    left = right - 1
    return x[left] + (target - s[left]) * (x[right] - x[left]) / (s[right] - s[left])


def check_against_oracle(table: pd.DataFrame, zones, globes, rel=1e-4, **kw):
    """Every (zone, month) row of ``table`` against :func:`oracle` (``globes[month]``)."""
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
        cfg[key] = {**cfg.get(key, {}), **value}
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

# Black Marble tiles the test LAADS tree holds (LAADS publishes land tiles only)
BM_TILES = ["h21v08", "h21v09", "h20v12", "h24v06", "h08v07", "h22v08", "h23v06", "h24v07"]


def eog_standin(root: Path, **kw):
    """An EOG stand-in serving ``root``, knowing the test account and its client."""
    from sezlights.standin.eog import EOGServer

    kw.setdefault("users", {USER: PASSWORD})
    kw.setdefault("clients", {CLIENT_ID: CLIENT_SECRET})
    return EOGServer(root, **kw)


# One file of each source, listed and ready to download (tests of downloads and faults).

SITE_MONTH = "2019-01"
EOG_TILE = "75N060W"
BM_TILE = BM_TILES[0]  # h21v08
SOURCES = ("eog", "blackmarble")


def eog_source(server, **download_cfg) -> Source:
    cfg = make_config(
        source={
            "name": "eog",
            "base_url": f"{server.url}/{SERVER_PATH}",
            "auth": {"token_url": server.token_url},
        },
        download=download_cfg,
    )
    return sources.get("eog", cfg)


def bm_source(server, **download_cfg) -> Source:
    cfg = make_config(
        source={"name": "blackmarble"},
        blackmarble={"base_url": f"{server.url}/archive/allData"},
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
    entry: dict  # the manifest entry of the file (name, url, size, ...)

    @property
    def file(self) -> str:
        return self.entry["name"]

    @property
    def real(self) -> Path:
        """The file as the server holds it."""
        return self.server.root / unquote(urlsplit(self.entry["url"]).path).lstrip("/")

    @property
    def token(self) -> str:
        """The bearer token the session sends."""
        auth = self.session.headers.get("Authorization")
        return auth.split(" ", 1)[1] if auth else self.session.token["access_token"]

    def statuses(self) -> list[int]:
        """Status of every request the server saw for the file, in order (599: broken body)."""
        return [s for _, p, s in self.server.requests if p.endswith(self.file)]

    def static_session(self, token: str | None = None) -> requests.Session:
        """A session with a token the user got elsewhere (``EOG_TOKEN``, ``EARTHDATA_TOKEN``)."""
        if self.name == "eog":
            return self.src.session(
                {"EOG_TOKEN": token or self.server.issue_token(USER, CLIENT_ID)}
            )
        return self.src.session({"EARTHDATA_TOKEN": token or self.server.token})

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
        return download(
            session or self.session,
            self.entry["url"],
            folder / self.file,
            verify=self.src.verify,
            is_login_page=self.src.is_login_page,
            budget=Budget(seconds, tries, backoff),
            signature=self.src.signature,
            timeout=timeout,
            progress_path=progress_path,
        )


def make_site(request, which: str, **download_cfg) -> Site:
    """A :class:`Site` on a fresh copy of the source's tree (the tests may damage it)."""
    if which == "eog":
        server = request.getfixturevalue("eog_server")
        src = eog_source(server, **download_cfg)
        session = src.session(eog_env())
        tile = EOG_TILE
    else:
        server = request.getfixturevalue("laads_server")
        src = bm_source(server, **download_cfg)
        session = src.session(eog_env())
        tile = BM_TILE
    entry = src.list_month(session, SITE_MONTH, [tile])["files"][0]
    server.reset_log()  # the listing's requests are not the download's
    return Site(which, server, src, session, entry)
