"""The naive path, for comparison: unpack everything, merge in memory, rasterstats.

``python bench/naive.py ARCHIVES_DIR UNPACK_DIR OUT_JSON ZONES.gpkg [ZONES.gpkg ...]``

What a first script would do: ``tar xzf`` every archive of the month, merge each
band of the six tiles into one in-memory raster with ``rasterio.merge``, and run
rasterstats per zone on it (all-touched, as the pipeline). Writes its timings
(per stage), the peak RSS of this process and the unpacked bytes to OUT_JSON, and
each zone set's statistics next to it (``naive-{n}.csv``) for a cross-check.
"""

from __future__ import annotations

import json
import resource
import shutil
import sys
import tarfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from rasterio.merge import merge
from rasterstats import zonal_stats


def main(archives_dir: str, unpack_dir: str, out_json: str, *zone_files: str) -> None:
    out = {"stages": {}, "zones": {}}
    unpack = Path(unpack_dir)
    shutil.rmtree(unpack, ignore_errors=True)
    unpack.mkdir(parents=True)
    t = time.perf_counter()
    for arc in sorted(Path(archives_dir).glob("*.tgz")):
        with tarfile.open(arc, "r:gz") as tar:
            tar.extractall(unpack, filter="data")
    out["stages"]["unpack_s"] = time.perf_counter() - t
    out["unpacked_bytes"] = sum(f.stat().st_size for f in unpack.iterdir())
    zones = {z: gpd.read_file(z) for z in zone_files}
    results = {z: {} for z in zone_files}
    for kind in ("avg_rade9h", "cf_cvg"):
        t = time.perf_counter()
        srcs = [rasterio.open(p) for p in sorted(unpack.glob(f"*.{kind}.tif"))]
        arr, transform = merge(srcs, nodata=np.nan if kind == "avg_rade9h" else None)
        for s in srcs:
            s.close()
        out["stages"][f"merge_{kind}_s"] = time.perf_counter() - t
        band = arr[0]
        del arr
        for z, gdf in zones.items():
            t = time.perf_counter()
            stats = ["count", "sum", "mean", "median", "min", "max", "std"]
            stats = stats if kind == "avg_rade9h" else ["mean", "min"]
            results[z][kind] = zonal_stats(
                gdf.geometry,
                band,
                affine=transform,
                nodata=np.nan if kind == "avg_rade9h" else 65535,
                all_touched=True,
                stats=stats,
            )
            out["zones"].setdefault(z, {})[f"stats_{kind}_s"] = time.perf_counter() - t
        del band
    for z, gdf in zones.items():
        df = pd.DataFrame(results[z]["avg_rade9h"])
        cv = pd.DataFrame(results[z]["cf_cvg"])
        df["cf_cvg_mean"], df["cf_cvg_min"] = cv["mean"], cv["min"]
        df.insert(0, "zone_id", gdf.iloc[:, 0].astype(str).values)
        df.to_csv(Path(out_json).with_name(f"naive-{len(gdf)}.csv"), index=False)
        out["zones"][z]["n"] = len(gdf)
    shutil.rmtree(unpack, ignore_errors=True)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    Path(out_json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main(*sys.argv[1:])
