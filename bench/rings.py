"""Rings benchmark: 1,000 SEZ-sized zones with rings at [0, 5, 10, 20] km (4,000 areas)
against the same zones without rings, at full resolution (15").

The zones lie in a 20 x 20 degree box over four Black Marble tiles (h20v08, h21v08,
h20v09, h21v09; 2400 x 2400 pixels each), one in ten on a tile border and one in ten
smaller than a pixel, so that one month is four full-size synthetic VNP46A3 files
(the stand-in's writer, ``sezlights_standin.blackmarble_tiles``). What it times, each
the best of three in this process:

- ``areas``: drawing the rings (``sezlights.areas.build``: the prepare_zones job's extra);
- ``index``: the pixel index (``sezlights.index.build_index``), zones alone and with
  their rings;
- ``month``: one month's statistics as the stats job computes them, the gather of the
  four files (``sezlights.zonal.gather``, two threads as the job) and the reduction
  (``sezlights.zonal.reduce``), zones alone and with their rings.

``python bench/rings.py`` writes bench/results-rings.json (and keeps the tiles in
bench-data/rings/); ``--table bench/results-rings.json`` prints the README's table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "standin"))

from sezlights_standin import blackmarble_tiles  # noqa: E402

from sezlights import areas, index, sources, zonal  # noqa: E402
from sezlights.manifest import Granule, Part  # noqa: E402
from sezlights.sources import blackmarble  # noqa: E402

MONTH = "2019-02"
TILES = ["h20v08", "h21v08", "h20v09", "h21v09"]  # 20-40E, 10S-10N
BOX = (20.3, -9.7, 39.7, 9.7)  # 25 km inside the tiles: every ring on them
RINGS = [0, 5, 10, 20]
N = 1000
PIXEL = 15 / 3600


def make_zones(n: int = N, seed: int = 20):
    """n SEZ-like polygons (0.2-5 km across, rotated) in BOX; one in ten on a tile
    border (30E or the equator), one in ten smaller than a 15" pixel."""
    import geopandas as gpd
    import shapely
    from shapely.affinity import rotate

    rng = np.random.default_rng(seed)
    geoms = []
    for _ in range(n):
        lon, lat = rng.uniform(BOX[0], BOX[2]), rng.uniform(BOX[1], BOX[3])
        if rng.random() < 0.1:
            if rng.random() < 0.5:
                lon = 30.0 + rng.normal(0, 0.005)
            else:
                lat = rng.normal(0, 0.005)
        size = 0.002 if rng.random() < 0.1 else rng.uniform(0.005, 0.05)
        aspect = rng.uniform(0.4, 1.0)
        g = shapely.box(
            lon - size / 2, lat - size * aspect / 2, lon + size / 2, lat + size * aspect / 2
        )
        geoms.append(rotate(g, rng.uniform(0, 90)))
    return gpd.GeoDataFrame(
        {"zone_id": [f"SEZ{i:04d}" for i in range(n)], "shape": "polygon"},
        geometry=geoms,
        crs="EPSG:4326",
    )


def tiles(folder: Path) -> list[Path]:
    """The month's four full-size VNP46A3 files (written once)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for t in TILES:
        p = folder / blackmarble_tiles.file_name(MONTH, t)
        if not p.exists():
            print(f"writing {p.name}", flush=True)
            blackmarble_tiles.write_file(p, MONTH, t, PIXEL)
        paths.append(p)
    return paths


def granules(files: list[Path]):
    out = []
    for f in files:
        m = blackmarble.FILE_RE.match(f.name)
        product = m["product"]
        part = Part("file", f.name, f.as_uri())
        satellite = blackmarble.PRODUCTS[product][0]
        out.append(Granule(m["tile"], product, satellite, "download", (part,)))
    return out


def best(fn, rounds: int = 3):
    times, result = [], None
    for _ in range(rounds):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), times, result


def measure(files: list[Path]) -> dict:
    from snakemake.utils import validate

    cfg = {
        "months": {"start": MONTH, "end": MONTH},
        "zones": {"path": "-", "id_field": "zone_id"},
        "sources": ["blackmarble"],
        "blackmarble": {"pixel_arcsec": 15, "products": ["VNP46A3"]},
    }
    validate(cfg, str(REPO / "workflow/schemas/config.schema.yaml"))  # the defaults
    src = sources.get("blackmarble", cfg)
    tiles_ = src.grid.tiles
    zones = make_zones()
    t_areas, areas_all, ringed = best(lambda: areas.build(zones, RINGS))
    plain = areas.build(zones, [])
    out = {"areas_s": round(t_areas, 3), "areas_all_s": [round(t, 3) for t in areas_all]}
    gs = granules(files)
    scratch = REPO / "bench-data/rings/scratch"
    for name, frame in (("zones", plain), ("zones_and_rings", ringed)):
        t_index, all_index, idx = best(lambda f=frame: index.build_index(f, tiles_))
        table = areas.zone_table(frame)
        t_gather, all_gather, values = best(
            lambda i=idx: zonal.gather(i, gs, src, files[0].parent, scratch=scratch, threads=2)
        )
        t_reduce, all_reduce, df = best(
            lambda i=idx, v=values, t=table: zonal.reduce(
                i, v, t, MONTH, "blackmarble", "npp", "VNP46A3"
            )
        )
        summary = index.summary(idx, tiles_)
        out[name] = {
            "areas": len(frame),
            "pixels": summary["pixels"],
            "runs": summary["entries"],
            "tiles_needed": summary["tiles_needed"],
            "index_s": round(t_index, 3),
            "gather_s": round(t_gather, 3),
            "reduce_s": round(t_reduce, 3),
            "month_s": round(t_gather + t_reduce, 3),
            "all_s": {
                "index": [round(t, 3) for t in all_index],
                "gather": [round(t, 3) for t in all_gather],
                "reduce": [round(t, 3) for t in all_reduce],
            },
            "observed_rows": int(df["mean"].notna().sum()),
        }
        print(name, json.dumps(out[name]), flush=True)
    return out


def table_text(res: dict) -> str:
    z, r = res["zones"], res["zones_and_rings"]
    rows = [
        "| areas | count | pixels | index runs | index build (s) | one month: gather (s) | "
        "reduce (s) | gather + reduce (s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, d in (("1,000 zones", z), ("the same with rings [0, 5, 10, 20] km", r)):
        rows.append(
            f"| {label} | {d['areas']:,} | {d['pixels']:,} | {d['runs']:,} | {d['index_s']:.2f} "
            f"| {d['gather_s']:.2f} | {d['reduce_s']:.3f} | {d['month_s']:.2f} |"
        )
    ratio = (r["index_s"] / z["index_s"], r["month_s"] / z["month_s"])
    rows.append("")
    rows.append(
        f"Rings drawn in {res['areas_s']:.2f} s (prepare_zones); index {ratio[0]:.1f}x, "
        f"one month's statistics {ratio[1]:.2f}x the zones alone."
    )
    return "\n".join(rows)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--table", help="print the README table of a results file")
    ap.add_argument("--out", default=str(REPO / "bench/results-rings.json"))
    args = ap.parse_args(argv)
    if args.table:
        print(table_text(json.loads(Path(args.table).read_text())))
        return
    t0 = time.perf_counter()
    files = tiles(REPO / "bench-data/rings" / blackmarble_tiles.month_folder(MONTH))
    write_s = time.perf_counter() - t0
    load_before = os.getloadavg()
    res = measure(files)
    res.update(
        {
            "date": dt.date.today().isoformat(),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "load_before": [round(v, 2) for v in load_before],
                "load_after": [round(v, 2) for v in os.getloadavg()],
            },
            "month": MONTH,
            "tiles": TILES,
            "tile_bytes": sum(p.stat().st_size for p in files),
            "tiles_write_s": round(write_s, 1),
            "rings_km": RINGS,
            "n_zones": N,
            # the whole benchmark process (both runs): an upper bound of one stats job's
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
    )
    Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    print(table_text(res))


if __name__ == "__main__":
    main()
