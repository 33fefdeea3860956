"""h5py or GDAL's HDF5 driver (through rasterio) for Black Marble rows: which is faster,
and do two threads help?

``python bench/hdf5_readers.py [--out bench/results-hdf5.json]`` writes full-size
synthetic VNP46A3 tiles (2400 x 2400, the real group and dataset names, 2-D datasets
chunked 600 x 600 and gzip-compressed: the real files' chunking is NOT confirmed, see
docs/evidence/blackmarble.md) and times, best of ``--repeat`` each, reading the radiance,
its quality flags and its observation count:

- rows: every row; 60 rows in one band of chunks (one zone); 3 x 20 rows in three bands
  of chunks (zones spread over a tile);
- readers: the pipeline's (``BlackMarble.bands``: h5py, whole chunks, quality masking
  and counts included), plain h5py slices of the same rows (raw values, the fair
  comparison with GDAL) and GDAL's HDF5 driver through rasterio (raw values, a window
  per block of rows); each opens the file itself, as a stats job does;
- threads: 4 tiles, every row, read one after the other and by 2 threads at once, with
  the pipeline's reader, plain h5py and GDAL's; and ``zonal.gather`` itself (what
  ``compute_zone_stats`` runs, ``threads=1`` and ``2``) for 12 small zones on those
  tiles; wall and CPU seconds. On a shared machine the 2-thread numbers depend on
  whether the second core is free: run it a few times.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import h5py
import numpy as np
import rasterio
from rasterio.windows import Window

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from sezlights_standin import blackmarble_tiles  # noqa: E402

from sezlights import sources  # noqa: E402
from sezlights.sources.blackmarble import GROUP  # noqa: E402

MONTH = "2019-01"
VARIABLE = "NearNadir_Composite_Snow_Free"
DATASETS = (VARIABLE, VARIABLE + "_Quality", VARIABLE + "_Num")
TILES = ("h21v09", "h20v12", "h22v08", "h28v07")  # the first is the reader test's
CONFIG = {
    "blackmarble": {
        "base_url": "http://127.0.0.1:1/archive/allData",
        "collection": "5200",
        "product": "VNP46A3",
        "variable": VARIABLE,
        "quality": [0],
        "pixel_arcsec": 15,
    },
    "stats": {"min_cloud_free": 1},
    "download": {},
}
ROWS = {
    "all_rows": np.arange(2400),
    "60_rows_one_chunk_band": np.arange(1200, 1260),
    "3x20_rows_three_chunk_bands": np.r_[100:120, 1200:1220, 2300:2320],
}


def best(fn, n):
    """Fastest wall time of ``n`` runs, and the CPU time of that run."""
    runs = []
    for _ in range(n):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        runs.append((time.perf_counter() - w0, time.process_time() - c0))
    return min(runs)


def blocks(rows: np.ndarray) -> list[tuple[int, int]]:
    """Contiguous [start, stop) runs of sorted rows."""
    breaks = np.nonzero(np.diff(rows) > 1)[0] + 1
    return [(int(r[0]), int(r[-1]) + 1) for r in np.split(rows, breaks)]


def pipeline(src, path, rows):
    def read():  # radiance masked by fill and quality, and the observation count
        bands = src.bands(path)  # the file stays open while the generator lives
        for band in bands:
            for _ in band.rows(rows):
                pass

    return read


def plain_h5py(path, rows):
    def read():
        with h5py.File(path, "r") as f:
            group = f[GROUP]
            for name in DATASETS:
                for r0, r1 in blocks(rows):
                    group[name][r0:r1, :]

    return read


def sub(path, name):
    return f'HDF5:"{path}"://{GROUP.replace(" ", "_")}/{name}'


def gdal(path, rows):
    def read():
        for name in DATASETS:
            with rasterio.open(sub(path, name)) as ds:
                for r0, r1 in blocks(rows):
                    ds.read(1, window=Window(0, r0, ds.width, r1 - r0))

    return read


def threaded(fns, threads):
    def read():
        if threads == 1:
            for fn in fns:
                fn()
        else:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                list(pool.map(lambda fn: fn(), fns))

    return read


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="write the results here as JSON too")
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args(argv)

    d = Path(tempfile.mkdtemp(prefix="hdf5-bench-"))
    paths = []
    for tile in TILES:
        p = d / blackmarble_tiles.file_name(MONTH, tile)
        paths.append(blackmarble_tiles.write_file(p, MONTH, tile, 1 / 240))
    path = paths[0]
    src = sources.get("blackmarble", CONFIG)
    try:
        with rasterio.open(sub(path, VARIABLE)) as ds:
            shape, gdal_blocks = ds.shape, ds.block_shapes[0]
    except rasterio.errors.RasterioIOError as exc:
        print(json.dumps({"gdal": f"cannot open: {exc}"}))
        return
    with h5py.File(path, "r") as f:
        chunks = f[GROUP][VARIABLE].chunks

    # the readers agree on the raw values they read
    with h5py.File(path, "r") as f, rasterio.open(sub(path, VARIABLE)) as ds:
        assert np.array_equal(
            f[GROUP][VARIABLE][1200:1260, :], ds.read(1, window=Window(0, 1200, 2400, 60))
        )

    readers = {}
    for label, rows in ROWS.items():
        out = {}
        for name, make in (
            ("pipeline_h5py", lambda rows=rows: pipeline(src, path, rows)),
            ("plain_h5py", lambda rows=rows: plain_h5py(path, rows)),
            ("gdal_rasterio", lambda rows=rows: gdal(path, rows)),
        ):
            out[name + "_s"] = round(best(make(), a.repeat)[0], 4)
        out["gdal_over_plain_h5py"] = round(out["gdal_rasterio_s"] / out["plain_h5py_s"], 2)
        readers[label] = out

    threads = {}
    every = ROWS["all_rows"]
    for name, make in (
        ("pipeline_h5py", lambda p: pipeline(src, p, every)),
        ("plain_h5py", lambda p: plain_h5py(p, every)),
        ("gdal_rasterio", lambda p: gdal(p, every)),
    ):
        res = {}
        for n in (1, 2):
            wall, cpu = best(threaded([make(p) for p in paths], n), max(2, a.repeat - 2))
            res[f"threads_{n}"] = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3)}
        res["speedup_2_threads"] = round(res["threads_1"]["wall_s"] / res["threads_2"]["wall_s"], 2)
        threads[name] = res

    # the stats job's own path: zonal.gather over the 4 tiles for 12 zones of 0.2 x 0.2
    # degrees (3 per tile, in three bands of chunks), 1 thread and 2
    import geopandas as gpd
    from shapely.geometry import box

    from sezlights import index, zonal

    zones = []
    for t in TILES:
        w = src.tiles.window(t)
        west, north = -180 + w.col_off / 240, 90 - w.row_off / 240
        for k, dy in enumerate((0.7, 5.1, 9.3)):
            x, y = west + 1 + 3 * k, north - dy
            zones.append((f"{t}-{k}", box(x, y - 0.2, x + 0.2, y)))
    frame = gpd.GeoDataFrame(
        {"zone_id": [z for z, _ in zones]}, geometry=[g for _, g in zones], crs="EPSG:4326"
    )
    idx = index.build_index(frame, src.tiles)
    gather = {}
    for n in (1, 2):
        wall, cpu = best(lambda n=n: zonal.gather(idx, paths, src, threads=n), a.repeat)
        gather[f"threads_{n}"] = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3)}
    gather["speedup_2_threads"] = round(
        gather["threads_1"]["wall_s"] / gather["threads_2"]["wall_s"], 2
    )
    gather["pixels"] = int(idx["length"].sum())

    out = {
        "what": "read radiance, _Quality and _Num rows of full-size synthetic VNP46A3 tiles",
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
        },
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "shape": list(shape),
        "hdf5_chunks": list(chunks),
        "gdal_block_shape": list(gdal_blocks),
        "repeat": a.repeat,
        "readers_best_wall_s": readers,
        "four_tiles_every_row": threads,
        "zonal_gather_four_tiles_12_zones": gather,
        "versions": {
            "h5py": h5py.__version__,
            "hdf5": h5py.version.hdf5_version,
            "rasterio": rasterio.__version__,
            "gdal": rasterio.__gdal_version__,
            "numpy": np.__version__,
        },
    }
    text = json.dumps(out, indent=2)
    print(text)
    if a.out:
        a.out.write_text(text + "\n")
    shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
