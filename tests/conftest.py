"""Shared fixtures: synthetic tiles on the real grid, served by a real local HTTP server."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from sezlights import grid, synthetic
from sezlights.devserver import TileServer

REPO = Path(__file__).resolve().parents[1]
PIXEL_ARCSEC = 600  # 1/40 of the real resolution: 720 x 450 pixels per northern tile
PIXEL = PIXEL_ARCSEC / 3600
SERVER_PATH = "nighttime_light/monthly/v10"
TOKEN = "test-token-5f2c9e"
PASSWORD = "s3cret-pw"


@pytest.fixture(scope="session")
def server_tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("eog")
    synthetic.make_tree(root / SERVER_PATH, "2019-01", "2019-04", pixel_arcsec=PIXEL_ARCSEC)
    return root


@pytest.fixture
def tile_server(server_tree, tmp_path_factory):
    """A fresh copy of the tree behind its own server, so a test may change it."""
    root = tmp_path_factory.mktemp("server")
    shutil.copytree(server_tree, root, dirs_exist_ok=True)
    with TileServer(root, token=TOKEN, username="alice", password=PASSWORD) as srv:
        srv.tree = root / SERVER_PATH
        yield srv


def global_arrays(month: str, pixel: float = PIXEL) -> tuple[np.ndarray, np.ndarray]:
    """The whole synthetic globe of a month as two numpy arrays (independent of the mosaic code)."""
    rows = {"75N": [], "00N": []}
    for band in ("75N", "00N"):
        parts = [
            synthetic.tile_arrays(month, f"{band}{w}", pixel) for w in ("180W", "060W", "060E")
        ]
        rows[band] = (np.hstack([p[0] for p in parts]), np.hstack([p[1] for p in parts]))
    rad = np.vstack([rows["75N"][0], rows["00N"][0]])
    cvg = np.vstack([rows["75N"][1], rows["00N"][1]]).astype("float32")
    return rad, cvg


def global_transform(pixel: float = PIXEL):
    return grid.tile_transform("75N180W", pixel)


def workflow_dir(tmp_path: Path, server: TileServer, **overrides) -> Path:
    """A working copy of the workflow with a config pointing at ``server``."""
    work = tmp_path / "work"
    work.mkdir(parents=True)
    for d in ("workflow", "profiles", "config", "envs", "src"):
        shutil.copytree(
            REPO / d, work / d, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
        )
    cfg = yaml.safe_load((REPO / "config/demo.yaml").read_text())
    cfg["source"]["base_url"] = f"{server.url}/{SERVER_PATH}"
    cfg["source"]["auth"]["token_url"] = server.token_url
    for key, value in overrides.items():
        cfg[key] = {**cfg.get(key, {}), **value}
    (work / "config" / "test.yaml").write_text(yaml.safe_dump(cfg))
    return work


def snakemake(
    work: Path,
    *args,
    check=True,
    wait=True,
    password=PASSWORD,
    token=None,
    profile="profiles/laptop",
    cores=2,
    env=None,
    timeout=600,
):
    """Run snakemake in ``work``; logs in with alice's password, or with ``token``.

    ``profile`` and ``cores`` (None: no ``--cores``) choose where jobs run; ``env``
    adds environment variables.
    """
    env = dict(os.environ, **(env or {}), EOG_USERNAME="alice", EOG_PASSWORD=password)
    env.pop("EOG_TOKEN", None)
    if token:
        env = {k: v for k, v in env.items() if k not in ("EOG_USERNAME", "EOG_PASSWORD")}
        env["EOG_TOKEN"] = token
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--profile",
        profile,
        "--configfile",
        "config/test.yaml",
        *(["--cores", str(cores)] if cores else []),
        *args,
    ]
    if not wait:  # output goes to work/snakemake.out; the caller kills or waits
        with open(work / "snakemake.out", "w") as out:
            return subprocess.Popen(
                cmd, cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
    p = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({p.returncode}):\n{p.stdout[-4000:]}\n{p.stderr[-6000:]}"
        )
    return p


def set_months(work: Path, start: str, end: str):
    edit_config(work, lambda cfg: cfg.update(months={"start": start, "end": end}))


def edit_config(work: Path, change) -> None:
    """Apply ``change(cfg)`` to the working copy's config/test.yaml."""
    path = work / "config/test.yaml"
    cfg = yaml.safe_load(path.read_text())
    change(cfg)
    path.write_text(yaml.safe_dump(cfg))


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
