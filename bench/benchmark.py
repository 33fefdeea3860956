"""Full-resolution benchmark: one real-size month through the real Snakemake rules.

``python bench/benchmark.py`` (or ``make benchmark``) does, on this machine:

1. writes six full-size synthetic tiles (28800 x 18000 / 15600 float32 radiance
   plus uint16 coverage, real grid and naming, gzip-packed as EOG ships them) under
   ``--data`` (kept between runs) and serves them on 127.0.0.1 behind a login;
2. writes zones files of 1,000 and 10,000 SEZ-sized polygons spread over all six
   tiles (some on tile borders, some smaller than a pixel);
3. runs the workflow (``--profile profiles/laptop``, target
   ``results/zonal_stats.csv``) for one month: with 1,000 zones from nothing
   (downloads included), again from the downloaded tiles, then with 10,000 zones;
   per stage it reports wall time, CPU time and peak RSS (Snakemake's
   ``benchmark:`` files) and the peak disk of the working directory (sampled);
4. times the decompression floor: every needed archive decompressed (and
   discarded) with ISA-L, zlib-ng and the standard library's gzip;
5. runs the naive path (``bench/naive.py``) on the same archives and zones and
   checks its numbers against the pipeline's;
6. prints the ratios and writes everything to ``--out`` (JSON).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml
from shapely.affinity import rotate

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from sezlights import grid, synthetic  # noqa: E402
from sezlights.devserver import TileServer  # noqa: E402
from sezlights.months import compact  # noqa: E402

SERVER_PATH = "nighttime_light/monthly/v10"
USER, PASSWORD, TOKEN = "bench", "bench-password", "bench-token"
STAGES = {
    "download_tile": "benchmarks/download/{month}/*.tsv",
    "index_zone_pixels": "benchmarks/index_zone_pixels.tsv",
    "compute_zone_stats": "benchmarks/stats/{month}.tsv",
}


# ---------------------------------------------------------------- data


def make_tiles(root: Path, month: str, pixel_arcsec: float, workers: int) -> dict:
    d = root / SERVER_PATH / month[:4] / compact(month) / "vcmcfg"
    pixel = pixel_arcsec / 3600
    stamp = synthetic.default_stamp(month)
    todo = {
        t: d / synthetic.archive_name(month, t, "vcmcfg", stamp)
        for t in grid.TILE_IDS
        if not (d / synthetic.archive_name(month, t, "vcmcfg", stamp)).exists()
    }
    t0 = time.perf_counter()
    with ProcessPoolExecutor(workers) as ex:
        list(
            ex.map(
                synthetic.write_archive_blocks,
                todo.values(),
                [month] * len(todo),
                todo.keys(),
                [pixel] * len(todo),
            )
        )
    archives = sorted(d.glob("*.tgz"))
    return {
        "written": len(todo),
        "seconds": time.perf_counter() - t0,
        "archives": [str(p) for p in archives],
        "archive_bytes": sum(p.stat().st_size for p in archives),
    }


def make_zones(n: int, seed: int = 7) -> gpd.GeoDataFrame:
    """n SEZ-like polygons: most 0.5-5 km across, some on tile borders, some sub-pixel."""
    rng = np.random.default_rng(seed)
    cities = np.array([(lon, lat) for lon, lat, *_ in synthetic.CITIES])
    geoms = []
    for _ in range(n):
        r = rng.random()
        if r < 0.3:  # around a bright cluster
            lon, lat = cities[rng.integers(len(cities))] + rng.normal(0, 0.3, 2)
        elif r < 0.4:  # on a tile border: the equator, 60W or 60E
            b = rng.integers(3)
            lon, lat = (
                (rng.uniform(-180, 180), rng.normal(0, 0.005))
                if b == 0
                else ((-60.0 if b == 1 else 60.0) + rng.normal(0, 0.005), rng.uniform(-60, 70))
            )
        else:  # anywhere in the coverage
            lon, lat = rng.uniform(-179.5, 179.5), rng.uniform(-60, 72)
        size = 0.002 if rng.random() < 0.1 else rng.uniform(0.005, 0.05)  # 0.2 - 5 km
        aspect = rng.uniform(0.4, 1.0)
        g = shapely.box(
            lon - size / 2, lat - size * aspect / 2, lon + size / 2, lat + size * aspect / 2
        )
        geoms.append(rotate(g, rng.uniform(0, 90)))
    return gpd.GeoDataFrame(
        {"sez_id": [f"SEZ{i:05d}" for i in range(n)]}, geometry=geoms, crs="EPSG:4326"
    )


# ---------------------------------------------------------------- measuring


class DiskSampler:
    """Peak bytes under a folder, sampled every ``every`` seconds in a thread."""

    def __init__(self, root: Path, every: float = 0.2):
        self.root, self.every = root, every
        self.peak = self.start = self._size()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _size(self) -> int:
        total = 0
        for dirpath, _, files in os.walk(self.root):
            for f in files:
                try:
                    total += os.lstat(os.path.join(dirpath, f)).st_blocks * 512
                except FileNotFoundError:
                    pass
        return total

    def _run(self):
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, self._size())

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, self._size())


def read_benchmarks(work: Path, month: str) -> dict:
    out = {}
    for rule, pattern in STAGES.items():
        files = sorted(work.glob(pattern.format(month=month)))
        if not files:
            continue
        rows = [pd.read_csv(f, sep="\t").iloc[-1] for f in files]
        out[rule] = {
            "jobs": len(rows),
            "wall_s_sum": round(float(sum(r["s"] for r in rows)), 2),
            "wall_s_max": round(float(max(r["s"] for r in rows)), 2),
            "cpu_s_sum": round(float(sum(r["cpu_time"] for r in rows)), 2),
            "peak_rss_mb": round(float(max(r["max_rss"] for r in rows)), 1),
        }
    return out


def stats_log(work: Path, month: str) -> str:
    lines = (work / f"logs/stats/{month}.log").read_text().splitlines()
    return next((ln for ln in reversed(lines) if "gather" in ln), "")


def snakemake(work: Path, *args) -> float:
    env = dict(os.environ, EOG_USERNAME=USER, EOG_PASSWORD=PASSWORD)
    env.pop("EOG_TOKEN", None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    cmd = [sys.executable, "-m", "snakemake", "--profile", "profiles/laptop"]
    cmd += ["--configfile", "config/bench.yaml", "--cores", "2", *args, "--quiet", "rules"]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"snakemake failed:\n{p.stdout[-3000:]}\n{p.stderr[-5000:]}")
    return time.perf_counter() - t0


def pipeline_run(work: Path, month: str, *args) -> dict:
    for d in ("benchmarks", "logs"):
        shutil.rmtree(work / d, ignore_errors=True)
    with DiskSampler(work) as disk:
        wall = snakemake(work, "results/zonal_stats.csv", *args)
    return {
        "wall_s": round(wall, 2),
        "disk_start_gb": round(disk.start / 1e9, 3),
        "disk_peak_gb": round(disk.peak / 1e9, 3),
        "disk_extra_gb": round((disk.peak - disk.start) / 1e9, 3),
        "stages": read_benchmarks(work, month),
        "stats_log": stats_log(work, month),
    }


def decompress_floor(archives: list[str], repeat: int = 2) -> dict:
    """Seconds to decompress (and discard) every archive, best of ``repeat``."""
    from isal import igzip
    from zlib_ng import gzip_ng

    out = {}
    buf = bytearray(1 << 22)
    for name, opener in (("isal", igzip.open), ("zlib-ng", gzip_ng.open), ("gzip", gzip.open)):
        best = math.inf
        for _ in range(1 if name == "gzip" else repeat):
            t0 = time.perf_counter()
            n = 0
            for a in archives:
                with opener(a, "rb") as f:
                    while k := f.readinto(buf):
                        n += k
            best = min(best, time.perf_counter() - t0)
        out[name] = round(best, 2)
    out["unpacked_gb"] = round(n / 1e9, 2)
    out["fastest"] = min(out[k] for k in ("isal", "zlib-ng", "gzip"))
    return out


def markdown(res: dict) -> str:
    """The README's performance table, from a results file."""
    f = res["floor"]
    lines = [
        f"One month ({res['month']}), six full-size tiles "
        f"({res['tiles']['archive_bytes'] / 1e9:.2f} GB of archives, "
        f"{f['unpacked_gb']} GB unpacked), {res['machine']['cpus']} cores, "
        f"{res['machine']['mem_gb']} GB RAM.",
        "",
        "| run | wall (s) | stats job (s) | stats job / floor | peak job RSS (MB) "
        "| peak extra disk (GB) | naive (s) | speed-up | memory ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    naive = res.get("naive", {})
    for key, r in res["ratios"].items():
        n, how = key.split("_", 1)
        label = f"{int(n):,} zones, " + (
            "from nothing (downloads)" if how == "from_scratch" else "tiles downloaded"
        )
        cells = [
            label,
            r["run_wall_s"],
            r["stats_job_s"],
            r["stats_job_over_floor"],
            f"{r['peak_job_rss_mb']:.0f}",
            r["disk_extra_gb"],
            r.get("naive_s", ""),
            f"{r['speedup_vs_naive']}x" if "speedup_vs_naive" in r else "",
            f"{r['memory_ratio_vs_naive']}x" if "memory_ratio_vs_naive" in r else "",
        ]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines += [
        "",
        "wall: the whole `snakemake` run; stats job: `compute_zone_stats` for the month; "
        "floor: the fastest decompression of all six archives on one core (the stats job "
        "uses two); speed-up: naive time over pipeline wall; memory ratio: naive peak RSS "
        "over the largest job's.",
        f"Decompression floor (all six archives, best of two): ISA-L {f['isal']} s, "
        f"zlib-ng {f['zlib-ng']} s, gzip {f['gzip']} s.",
    ]
    if naive:
        lines.append(
            f"Naive path: unpack {naive['stages']['unpack_s']:.0f} s, merge "
            f"{naive['stages']['merge_avg_rade9h_s'] + naive['stages']['merge_cf_cvg_s']:.0f} s, "
            f"rasterstats "
            + ", ".join(
                f"{v['rasterstats_ms_per_zone']} ms/zone ({int(n):,} zones)"
                for n, v in naive["per_zone_set"].items()
            )
            + f"; peak RSS {naive['peak_rss_mb']:.0f} MB, extra disk {naive['disk_extra_gb']} GB."
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def workdir(work: Path, server: TileServer, month: str, pixel_arcsec: float, zones: Path):
    if not work.exists():
        work.mkdir(parents=True)
        for d in ("workflow", "profiles", "config", "envs", "src"):
            shutil.copytree(REPO / d, work / d, ignore=shutil.ignore_patterns("__pycache__"))
    cfg = yaml.safe_load((REPO / "config/demo.yaml").read_text())
    cfg["months"] = {"start": month, "end": month}
    cfg["zones"] = {"path": str(zones), "id_field": "sez_id"}
    cfg["source"].update(base_url=f"{server.url}/{SERVER_PATH}", pixel_arcsec=pixel_arcsec)
    cfg["source"]["auth"]["token_url"] = server.token_url
    cfg["download"] = {"keep": True}
    cfg["mosaic"] = {"keep": False}
    (work / "config/bench.yaml").write_text(yaml.safe_dump(cfg))


def compare(pipeline_csv: Path, naive_csv: Path) -> dict:
    a = pd.read_csv(pipeline_csv).set_index("zone_id").sort_index()
    b = pd.read_csv(naive_csv).set_index("zone_id").sort_index()
    out = {}
    for pa, nb in (("pixel_count", "count"), ("sum", "sum"), ("mean", "mean"), ("max", "max")):
        x, y = a[pa].to_numpy(float), b[nb].to_numpy(float)
        both = ~(np.isnan(x) | np.isnan(y))
        out[pa] = {
            "zones_compared": int(both.sum()),
            "max_abs_diff": float(np.max(np.abs(x[both] - y[both]), initial=0.0)),
        }
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO / "bench-data")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results.json")
    ap.add_argument("--month", default="2019-02")
    ap.add_argument("--zones", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--pixel-arcsec", type=float, default=15.0, help="15 is the real grid")
    ap.add_argument("--skip-naive", action="store_true")
    ap.add_argument("--table", type=Path, help="print the README table of a results file")
    args = ap.parse_args(argv)
    if args.table:
        print(markdown(json.loads(args.table.read_text())))
        return 0
    data = args.data.resolve()
    month = args.month
    res: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "mem_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_avg_start": os.getloadavg(),
        },
        "month": month,
        "pixel_arcsec": args.pixel_arcsec,
        "tile_shapes": {t: grid.tile_shape(t, args.pixel_arcsec / 3600) for t in grid.TILE_IDS},
    }
    print(f"benchmark: writing full-size tiles under {data} (kept for later runs)", flush=True)
    res["tiles"] = make_tiles(data / "server", month, args.pixel_arcsec, workers=2)
    archives = res["tiles"].pop("archives")
    print(f"  {len(archives)} archives, {res['tiles']['archive_bytes'] / 1e9:.2f} GB", flush=True)

    zone_files = {}
    for n in args.zones:
        p = data / f"zones-{n}.gpkg"
        if not p.exists():
            make_zones(n).to_file(p, driver="GPKG")
        zone_files[n] = p

    print("benchmark: decompression floor", flush=True)
    res["floor"] = decompress_floor(archives)
    print(f"  {res['floor']}", flush=True)

    work = data / "work"
    shutil.rmtree(work, ignore_errors=True)
    server = TileServer(data / "server", 0, token=TOKEN, username=USER, password=PASSWORD)
    res["pipeline"] = {}
    with server:
        first, *rest = args.zones
        workdir(work, server, month, args.pixel_arcsec, zone_files[first])
        print(f"benchmark: pipeline, {first} zones, from nothing (downloads included)", flush=True)
        res["pipeline"][f"{first}_from_scratch"] = pipeline_run(work, month)
        print(f"  {res['pipeline'][f'{first}_from_scratch']}", flush=True)
        runs = [(first, ["--forcerun", "index_zone_pixels"])] + [(n, []) for n in rest]
        for n, extra in runs:
            workdir(work, server, month, args.pixel_arcsec, zone_files[n])
            print(f"benchmark: pipeline, {n} zones, tiles already downloaded", flush=True)
            r = pipeline_run(work, month, *extra)
            shutil.copy(work / "results/zonal_stats.csv", data / f"pipeline-{n}.csv")
            res["pipeline"][f"{n}_downloaded"] = r
            print(f"  {r}", flush=True)
        res["server_file_gets"] = len(server.file_gets())

    if not args.skip_naive:
        print("benchmark: naive path (unpack all, rasterio.merge in memory, rasterstats)")
        naive_json = data / "naive.json"
        arch_dir = Path(archives[0]).parent
        t0 = time.perf_counter()
        with DiskSampler(data) as disk:
            subprocess.run(
                [
                    sys.executable,
                    str(REPO / "bench/naive.py"),
                    str(arch_dir),
                    str(data / "unpacked"),
                    str(naive_json),
                    *(str(zone_files[n]) for n in args.zones),
                ],
                check=True,
            )
        naive = json.loads(naive_json.read_text())
        naive["wall_s"] = round(time.perf_counter() - t0, 2)
        naive["disk_extra_gb"] = round((disk.peak - disk.start) / 1e9, 3)
        common = sum(naive["stages"].values())
        naive["per_zone_set"] = {}
        for v in naive["zones"].values():
            n = v["n"]
            t = common + v["stats_avg_rade9h_s"] + v["stats_cf_cvg_s"]
            naive["per_zone_set"][n] = {
                "seconds": round(t, 2),
                "rasterstats_ms_per_zone": round(
                    1000 * (v["stats_avg_rade9h_s"] + v["stats_cf_cvg_s"]) / n, 2
                ),
                "agreement": compare(data / f"pipeline-{n}.csv", data / f"naive-{n}.csv"),
            }
        res["naive"] = naive

    res["machine"]["load_avg_end"] = os.getloadavg()
    res["ratios"] = ratios(res)
    args.out.write_text(json.dumps(res, indent=2, default=str))
    print(markdown(res))
    print(f"benchmark: results in {args.out}")
    return 0


def ratios(res: dict) -> dict:
    out = {}
    floor = res["floor"]["fastest"]
    for key, run in res["pipeline"].items():
        st = run["stages"].get("compute_zone_stats", {})
        r = {
            "stats_job_s": st.get("wall_s_max"),
            "stats_job_over_floor": round(st["wall_s_max"] / floor, 2) if st else None,
            "run_wall_s": run["wall_s"],
            "peak_job_rss_mb": max(s["peak_rss_mb"] for s in run["stages"].values()),
            "disk_extra_gb": run["disk_extra_gb"],
        }
        n = int(key.split("_")[0])
        naive = res.get("naive", {}).get("per_zone_set", {}).get(n)
        if naive and key.endswith("downloaded"):
            r["naive_s"] = naive["seconds"]
            r["speedup_vs_naive"] = round(naive["seconds"] / run["wall_s"], 1)
            r["memory_ratio_vs_naive"] = round(
                res["naive"]["peak_rss_mb"] / r["peak_job_rss_mb"], 1
            )
            r["disk_ratio_vs_naive"] = (
                round(res["naive"]["disk_extra_gb"] / run["disk_extra_gb"], 1)
                if run["disk_extra_gb"] > 0
                else math.inf
            )
        out[key] = r
    return out


if __name__ == "__main__":
    sys.exit(main())
