"""Memory declared from the inputs, maps read decimated (issue 14, point 5).

- ``crops.read_crops`` reads a window wider than the map limit as k x k block means:
  checked on real (synthetic) EOG archives against the globe assembled in numpy;
- the rules' ``mem_mb`` functions (``workflow/rules/common.smk``) grow with what the
  zones summary, the index summary, the maps' zone list and the tables say. Their
  coefficients (``sezlights.memory``) come from the benchmark: only how the declared
  memory follows the inputs is tested here, not the numbers.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pytest
from helpers import PIXEL_ARCSEC, REPO, SERVER_PATH, eog_globe, local_granules, make_config
from shapely.geometry import box

from sezlights import sources
from sezlights.crops import crop_window, read_crops

MONTH = "2019-01"


def block_means(rad, cvg, window, k, min_cloud_free=1):
    """The map of ``window`` as k x k block means of its observed pixels, by hand."""
    r0, c0 = int(window.row_off), int(window.col_off)
    h, w = int(window.height), int(window.width)
    out = np.full((math.ceil(h / k), math.ceil(w / k)), np.nan)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            rows = slice(max(0, r0 + i * k), max(0, r0 + min((i + 1) * k, h)))
            cols = slice(max(0, c0 + j * k), max(0, c0 + min((j + 1) * k, w)))
            r, c = rad[rows, cols], cvg[rows, cols]
            seen = np.isfinite(r) & (c >= min_cloud_free)
            if seen.any():
                out[i, j] = r[seen].astype(np.float64).mean()
    return out


def test_a_map_wider_than_the_limit_is_read_as_block_means(eog_tree, tmp_path):
    src = sources.get("eog", make_config(sources=["eog"], eog={"pixel_arcsec": PIXEL_ARCSEC}))
    files = sorted((eog_tree / SERVER_PATH / "2019/201901/vcmcfg").glob("*.tgz"))
    zones = gpd.GeoDataFrame(
        {"zone_id": ["large", "on four tiles", "small"]},
        geometry=[box(20, 10, 30, 18), box(-65, -3, -55, 5), box(40.0, 20.0, 40.3, 20.2)],
        crs=4326,
    )
    max_pixels = 25
    granules, folder = local_granules(files, src)
    crops = read_crops(zones, granules, src, folder, None, tmp_path / "scratch", max_pixels)
    rad, cvg, lattice = eog_globe(MONTH)
    ks = []
    for geom, (arr, bounds) in zip(zones.geometry, crops, strict=True):
        win = crop_window(geom, lattice)
        k = max(1, math.ceil(max(win.width, win.height) / max_pixels))
        ks.append(k)
        # at most max_pixels across, each block the mean of its k x k observed pixels
        assert arr.shape == (math.ceil(win.height / k), math.ceil(win.width / k))
        assert max(arr.shape) <= max_pixels
        np.testing.assert_allclose(arr, block_means(rad, cvg, win, k), rtol=1e-6, equal_nan=True)
        # the bounds are those of the blocks: k pixels each, from the window's corner
        left, _, _, top = lattice.window_bounds(win)
        height, width = arr.shape[0] * k * lattice.pixel, arr.shape[1] * k * lattice.pixel
        assert bounds == pytest.approx((left, top - height, left + width, top))
        assert geom.within(box(*bounds))
        assert np.isfinite(arr).any()
    assert ks[0] > 1 and ks[1] > 1 and ks[2] == 1  # decimated where the window is wide


# ------------------------------------------------------------------ declared memory


def resource_functions() -> dict:
    """The ``*_mem_mb`` functions of workflow/rules/common.smk, as they are written."""
    text = (REPO / "workflow/rules/common.smk").read_text() + "\n#end\n"
    ns: dict = {"json": json, "os": __import__("os"), "Path": Path}
    exec("from sezlights import memory", ns)
    m = re.search(r"^MAP_PIXELS = (\d+)", text, re.M)
    ns["MAP_PIXELS"] = int(m[1])
    for fm in re.finditer(r"^def (\w+)\(.*?(?=^\S)", text, re.M | re.S):
        if fm[1] in ("_local", "_read_json") or fm[1].endswith("_mem_mb"):
            exec(fm[0], ns)
    return ns


def write_json(path: Path, obj) -> str:
    path.write_text(json.dumps(obj))
    return str(path)


def increasing(values) -> bool:
    return all(a <= b for a, b in zip(values, values[1:], strict=False)) and values[-1] > values[0]


def test_declared_memory_grows_with_the_inputs(tmp_path):
    fn = resource_functions()
    w = SimpleNamespace(source="eog", grid="eog")

    # the pixel index: from the zones summary (before the index exists)
    def index(largest, zones=10):
        grid = {"zones": zones, "window_pixels": largest, "largest_window_pixels": largest}
        summary = write_json(tmp_path / "zones.json", {"grids": {"eog": grid}})
        return fn["index_mem_mb"](w, SimpleNamespace(summary=summary), 1)

    assert increasing([index(p) for p in (100, 10**6, 25 * 10**6, 200 * 10**6)])
    assert increasing([index(100, zones) for zones in (10, 10**5, 10**6)])

    # the statistics: from the index summary
    def stats(pixels, attempt=1):
        summary = write_json(tmp_path / "index.json", {"pixels": pixels})
        return fn["stats_mem_mb"](w, SimpleNamespace(index_summary=summary), attempt)

    sizes = [stats(p) for p in (1000, 10**6, 23_285_949, 10**8)]
    assert increasing(sizes)
    # a 20-degree zone plus 5,000 SEZs asks more than a few SEZs, and a retry more again
    assert sizes[2] > sizes[0] and stats(23_285_949, 2) > sizes[2]

    # the maps: from the zones they show (each at most MAP_PIXELS across)
    def maps(n):
        shown = tmp_path / "shown.csv"
        shown.write_text("zone_id\n" + "".join(f"z{i}\n" for i in range(n)))
        return fn["maps_mem_mb"](w, SimpleNamespace(shown=str(shown)), 1)

    assert increasing([maps(n) for n in (1, 50, 500)])

    # the report's table jobs: from the table's size on disk
    def tables(mb):
        path = tmp_path / "table.csv"
        path.write_bytes(b"x" * int(mb * 1e6))
        return fn["table_mem_mb"](w, [str(path)], 1)

    assert increasing([tables(mb) for mb in (0.01, 100, 1000)])
