"""The naive path, for comparison: unpack everything, merge in memory, rasterstats.

``python bench/naive.py ARCHIVES_DIR UNPACK_DIR OUT_JSON ZONES.gpkg [ZONES.gpkg ...]``

What a first script would do: ``tar xzf`` every archive of the month (every member,
as EOG ships them), merge each band of the six tiles into one in-memory raster with
``rasterio.merge``, and run rasterstats per zone on it with ``all_touched=True`` (the
pipeline's ``stats.weighting: all_touched`` counts the same pixels). Writes its
timings (per stage), the peak RSS of this process and the unpacked bytes to
OUT_JSON, and each zone set's statistics next to it (``naive-{stem}.csv``, one row
per zone: ``zone_id, count, sum, mean, min, max, cf_cvg_mean, cf_cvg_min``) for the
cross-check. The zones files need a ``zone_id`` column.
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

BANDS = {  # member suffix -> (statistics, nodata)
    "avg_rade9h": (["count", "sum", "mean", "min", "max"], np.nan),
    "cf_cvg": (["mean", "min"], 65535),
}


def main(archives_dir: str, unpack_dir: str, out_json: str, *zone_files: str) -> None:
    out: dict = {"stages": {}, "zones": {}}
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
    results: dict = {z: {} for z in zone_files}
    for kind, (stats, nodata) in BANDS.items():
        t = time.perf_counter()
        srcs = [rasterio.open(p) for p in sorted(unpack.glob(f"*.{kind}.tif"))]
        arr, transform = merge(srcs, nodata=nodata)
        for s in srcs:
            s.close()
        out["stages"][f"merge_{kind}_s"] = time.perf_counter() - t
        band = arr[0]
        del arr
        for z, gdf in zones.items():
            t = time.perf_counter()
            results[z][kind] = zonal_stats(
                gdf.geometry,
                band,
                affine=transform,
                nodata=nodata,
                all_touched=True,
                stats=stats,
            )
            out["zones"].setdefault(z, {})[f"stats_{kind}_s"] = time.perf_counter() - t
        del band
    for z, gdf in zones.items():
        df = pd.DataFrame(results[z]["avg_rade9h"])
        cv = pd.DataFrame(results[z]["cf_cvg"])
        df["cf_cvg_mean"], df["cf_cvg_min"] = cv["mean"], cv["min"]
        df.insert(0, "zone_id", gdf["zone_id"].astype(str).values)
        csv = Path(out_json).with_name(f"naive-{Path(z).stem}.csv")
        df.to_csv(csv, index=False)
        out["zones"][z].update(n=len(gdf), csv=str(csv))
    shutil.rmtree(unpack, ignore_errors=True)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    Path(out_json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main(*sys.argv[1:])
