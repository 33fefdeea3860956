"""h5py or GDAL's HDF5 driver (through rasterio) for Black Marble rows: which is faster?

``python bench/hdf5_readers.py`` writes one full-size synthetic VNP46A3 tile (2400 x
2400, the real group and dataset names, chunked and compressed like the real files)
and reads (a) every row and (b) the 60 rows a few SEZs need, of the radiance, its
quality flags and its observation count, best of three each: with the pipeline's
reader (h5py, whole chunks, quality masking included: sezlights.sources.blackmarble)
and with GDAL's HDF5 driver through rasterio (raw values only).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import rasterio
from rasterio.windows import Window

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from sezlights import sources  # noqa: E402
from sezlights.sources.blackmarble import GROUP  # noqa: E402
from sezlights.standin import blackmarble_tiles  # noqa: E402

VARIABLE = "NearNadir_Composite_Snow_Free"
BM = {
    "base_url": "http://127.0.0.1:1/archive/allData",
    "collection": "5200",
    "product": "VNP46A3",
    "variable": VARIABLE,
    "quality": [0],
    "pixel_arcsec": 15,
}


def best(fn, n=3):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    d = Path(tempfile.mkdtemp(prefix="hdf5-bench-"))
    path = d / blackmarble_tiles.file_name("2019-01", "h21v09")
    blackmarble_tiles.write_file(path, "2019-01", "h21v09", 1 / 240)
    rows = np.arange(1200, 1260)

    src = sources.get("blackmarble", {"blackmarble": BM, "download": {}})

    def pipeline(wanted):
        def read():  # the pipeline's reader: radiance masked by quality, and the count
            for band in src.bands(path):
                for _ in band.rows(wanted):
                    pass

        return read

    def sub(name):
        return f'HDF5:"{path}"://{GROUP.replace(" ", "_")}/{name}'

    def gdal(window):
        def read():  # the same three datasets, read raw (no masking)
            for name in (VARIABLE, VARIABLE + "_Quality", VARIABLE + "_Num"):
                with rasterio.open(sub(name)) as ds:
                    ds.read(1, window=window)

        return read

    try:
        with rasterio.open(sub(VARIABLE)) as ds:
            shape = ds.shape
    except rasterio.errors.RasterioIOError as exc:
        print(json.dumps({"gdal": f"cannot open: {exc}"}))
        return
    out = {
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "shape": shape,
        "h5py_all_rows_s": round(best(pipeline(np.arange(2400))), 3),
        "gdal_all_rows_s": round(best(gdal(None)), 3),
        "h5py_60_rows_s": round(best(pipeline(rows)), 4),
        "gdal_60_rows_s": round(best(gdal(Window(0, 1200, 2400, 60))), 4),
        "gdal_version": rasterio.__gdal_version__,
        "h5py_version": h5py.__version__,
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
