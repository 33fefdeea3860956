"""blackmarblepy's ``bm_extract`` against the LAADS stand-in (the benchmark's ``peer`` section).

Run with the Python of a separate virtual environment holding ``blackmarblepy==2026.6.1``
(never the project's: its dependencies stay untouched), by ``bench/benchmark.py``:

- ``tiles ZONES``: the Black Marble tiles blackmarblepy will ask for (its own
  ``blackmarbletiles.geojson``, whose edges are off by up to 2^-13 degrees, intersected
  with the union of the zones, as ``BlackMarbleDownloader.download`` does), as JSON;
- ``extract ZONES URL TOKEN OUT_DIR RESULT MONTH...``: ``bm_extract`` of the zones for the
  months (VNP46A3, quality flags 1, 2 and 255 dropped: the pipeline's default of
  quality 0 only), with ``BlackMarbleDownloader.URL`` pointed at the stand-in
  (docs/evidence/blackmarblepy.md §3); writes the table (CSV beside RESULT) and RESULT
  (JSON: seconds for the import and for ``bm_extract``, the version, the rows);
- ``extract-each ...``: the same, one ``bm_extract`` call per tile (its zones together) in
  one process (the workaround when one call over zones spread across the world runs out
  of memory).

Nothing here imports sezlights.
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import sys
import time
from pathlib import Path

DROP_FLAGS = [1, 2, 255]  # the pipeline accepts quality 0 only (blackmarble.quality: [0])
AGGFUNC = ["sum", "mean", "count"]


def tiles(zones: str) -> None:
    import geopandas as gpd
    from blackmarble import TILES

    gdf = gpd.read_file(zones).to_crs("EPSG:4326")
    hit = gpd.overlay(gdf.dissolve(), TILES, how="intersection")
    print(json.dumps(sorted(set(hit["TileID"].astype(str)))))


def extract_each(zones: str, *rest: str) -> None:
    """``extract`` one call per Black Marble tile, its zones together, in the same process:
    what a user does when one ``bm_extract`` over zones spread across the world runs out
    of memory (it mosaics every tile of the zones' common bounding box into one array).
    Not one call per zone: a zone 1 x 2 pixels wide (Bole Lemi I) alone fails inside
    ``bm_extract`` (rioxarray: "x dimension not found"). Files are downloaded once
    (``skip_if_exists``, the same output folder)."""
    extract(zones, *rest, each=True)


def _groups(gdf):
    """The zones by the one tile each meets (blackmarblepy's own tile grid), in order."""
    import geopandas as gpd
    from blackmarble import TILES

    by_tile: dict[str, list[int]] = {}
    for i in range(len(gdf)):
        hit = gpd.overlay(gdf.iloc[[i]], TILES, how="intersection")
        key = ",".join(sorted(set(hit["TileID"].astype(str))))
        by_tile.setdefault(key, []).append(i)
    return [gdf.iloc[rows] for rows in by_tile.values()]


def extract(
    zones: str, url: str, token: str, out_dir: str, result: str, *months: str, each=False
) -> None:
    t0 = time.perf_counter()
    import blackmarble
    import blackmarble.download
    import geopandas as gpd
    import pandas as pd
    from blackmarble import Product, bm_extract

    t_import = time.perf_counter() - t0
    blackmarble.download.BlackMarbleDownloader.URL = url.rstrip("/")
    gdf = gpd.read_file(zones).to_crs("EPSG:4326")
    dates = [dt.date(int(m[:4]), int(m[5:7]), 1) for m in months]
    t1 = time.perf_counter()
    parts = _groups(gdf) if each else [gdf]
    tables = [
        bm_extract(
            part,
            product_id=Product.VNP46A3,
            date_range=dates,
            token=token,
            aggfunc=AGGFUNC,
            variable="NearNadir_Composite_Snow_Free",
            drop_values_by_quality_flag=DROP_FLAGS,
            output_directory=Path(out_dir),
        )
        for part in parts
    ]
    table = tables[0] if len(tables) == 1 else pd.concat(tables, ignore_index=True)
    t_extract = time.perf_counter() - t1
    csv = Path(result).with_suffix(".csv")
    table.drop(columns="geometry").to_csv(csv, index=False)
    Path(result).write_text(
        json.dumps(
            {
                "version": blackmarble.__version__,
                "import_s": round(t_import, 2),
                "bm_extract_s": round(t_extract, 2),
                "rows": len(table),
                "calls": len(parts),
                "table": str(csv),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "drop_values_by_quality_flag": DROP_FLAGS,
                "aggfunc": AGGFUNC,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    what, *rest = sys.argv[1:]
    {"tiles": tiles, "extract": extract, "extract-each": extract_each}[what](*rest)
