"""Fixtures: synthetic files in the real layouts, served by the local stand-ins of EOG
(with its Keycloak login) and LAADS, on 127.0.0.1. Helpers live in tests/helpers.py."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from helpers import BM_TILES, EARTHDATA_TOKEN, PIXEL_ARCSEC, SERVER_PATH, eog_standin
from sezlights_standin import blackmarble_tiles, eog_tiles
from sezlights_standin.earthdata import EarthdataServer
from sezlights_standin.laads import LAADSServer

PRODUCTS = ("VNP46A3", "VJ146A3")


@pytest.fixture(scope="session")
def eog_tree(tmp_path_factory) -> Path:
    """EOG's v10 tree for 2019-01..2019-04 (synthetic, 10' pixels)."""
    root = tmp_path_factory.mktemp("eog")
    eog_tiles.make_tree(root / SERVER_PATH, "2019-01", "2019-04", pixel_arcsec=PIXEL_ARCSEC)
    return root


@pytest.fixture(scope="session")
def laads_tree(tmp_path_factory) -> Path:
    """LAADS's tree for 2019-01..2019-04, both products (synthetic, 10' pixels)."""
    root = tmp_path_factory.mktemp("laads")
    blackmarble_tiles.make_tree(
        root, "2019-01", "2019-04", PIXEL_ARCSEC, tiles=BM_TILES, products=PRODUCTS
    )
    return root


@pytest.fixture
def eog_server(eog_tree, tmp_path_factory):
    """A fresh copy of the EOG tree behind its own stand-in, so a test may change it."""
    root = tmp_path_factory.mktemp("eog-server")
    shutil.copytree(eog_tree, root, dirs_exist_ok=True)
    with eog_standin(root) as srv:
        srv.tree = root / SERVER_PATH
        yield srv


@pytest.fixture
def laads_server(laads_tree, tmp_path_factory):
    """LAADS's ladsweb archive (blackmarble.endpoint: ladsweb) on a fresh copy of the tree."""
    root = tmp_path_factory.mktemp("laads-server")
    shutil.copytree(laads_tree, root, dirs_exist_ok=True)
    with LAADSServer(root, token=EARTHDATA_TOKEN) as srv:
        srv.tree = root
        yield srv


@pytest.fixture
def earthdata_server(laads_tree, tmp_path_factory):
    """CMR and LAADS's Earthdata Cloud host (the default endpoint) on a fresh copy."""
    root = tmp_path_factory.mktemp("earthdata-server")
    shutil.copytree(laads_tree, root, dirs_exist_ok=True)
    with EarthdataServer(root) as srv:
        srv.users[EARTHDATA_TOKEN] = {"uid": "alice", "approved": True, "eula": True, "exp": None}
        srv.tree = root
        yield srv


@pytest.fixture
def step_logging():
    """Put the root logger back as it was after a script's run_step set it up."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for h in root.handlers:
        if h not in handlers:
            h.close()
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)


def pytest_runtest_setup(item):
    """Tell tests/helpers.py which markers the running test has: helpers.snakemake()
    refuses to run Snakemake for a test not marked `workflow` (`make check` leaves those
    out, so the marker must be honest)."""
    import helpers

    helpers.CURRENT_MARKERS = {m.name for m in item.iter_markers()}
