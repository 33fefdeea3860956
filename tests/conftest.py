"""Fixtures: synthetic files in the real layouts, served by the local stand-ins of EOG
(with its Keycloak login) and LAADS, on 127.0.0.1. Helpers live in tests/helpers.py."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from helpers import BM_TILES, EARTHDATA_TOKEN, PIXEL_ARCSEC, SERVER_PATH, eog_standin

from sezlights.standin import blackmarble_tiles, eog_tiles
from sezlights.standin.laads import LAADSServer


@pytest.fixture(scope="session")
def eog_tree(tmp_path_factory) -> Path:
    """EOG's v10 tree for 2019-01..2019-04 (synthetic, 10' pixels)."""
    root = tmp_path_factory.mktemp("eog")
    eog_tiles.make_tree(root / SERVER_PATH, "2019-01", "2019-04", pixel_arcsec=PIXEL_ARCSEC)
    return root


@pytest.fixture(scope="session")
def laads_tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("laads")
    blackmarble_tiles.make_tree(root, "2019-01", "2019-04", PIXEL_ARCSEC, tiles=BM_TILES)
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
    root = tmp_path_factory.mktemp("laads-server")
    shutil.copytree(laads_tree, root, dirs_exist_ok=True)
    with LAADSServer(root, token=EARTHDATA_TOKEN) as srv:
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
