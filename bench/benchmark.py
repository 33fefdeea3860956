"""Benchmark: full-size synthetic months through the real Snakemake rules, on this machine.

``python bench/benchmark.py`` (``make benchmark``) runs every section below once and
writes ``bench/results.json``; ``--quick`` does the same at reduced sizes (150" pixels,
a couple of minutes) into ``<data>/quick/results.json``, to check the code;
``--sections a,b`` runs some sections only (their results replace those sections in
the results file, the others are kept); ``--table [FILE]`` prints the Markdown tables
of a results file.

Data (kept between runs under ``--data``, default ``bench-data/``, gitignored): the
six EOG tiles of one month at 15" (28800 x 18000 / 15600 float32 radiance, uint16
cf_cvg and cvg, packed as EOG ships them: ``standin.eog_tiles.write_archive_blocks``
with the naming variants), the Black Marble tiles (2400 x 2400) the nine real SEZ
outlines touch, and zones files. The stand-ins (``standin.eog.EOGServer`` with its
Keycloak login, ``standin.laads.LAADSServer``) serve them on 127.0.0.1.

Sections:

- ``floor``: every archive decompressed (and discarded) with ISA-L, zlib-ng and gzip,
  best of two each; and ISA-L with two processes (the job's two cores).
- ``stats``: the workflow (``--profile profiles/laptop``, target
  ``results/zonal_stats.csv``) with 1,000 SEZ-sized zones from nothing (downloads
  included), again with the tiles downloaded, then 10,000 zones (coverage weighting,
  the default), then both with ``stats.weighting: all_touched``; per rule: wall, CPU,
  peak RSS; the peak extra disk of the working folder; the naive path
  (``bench/naive.py``: unpack, ``rasterio.merge``, rasterstats ``all_touched``) on the
  same archives, and its numbers against the all_touched tables.
- ``index``: the pixel index (coverage fractions) of 10,000 SEZ-sized zones and of one
  20 x 20 degree zone, on the EOG and the Black Marble lattice, each in a fresh
  process (time, peak RSS).
- ``reduce``: ``sezlights.zonal.reduce`` for 10,000 zones, given gathered values.
- ``memory``: the whole workflow (report included) for a 20 x 20 degree zone plus
  5,000 SEZs; each job's peak RSS next to the ``mem_mb`` its rule declared (computed
  with the functions of ``workflow/rules/common.smk``).
- ``sources``: the nine real SEZ outlines (``--sez-dir``, read here only) through the
  workflow from each source, from nothing: bytes downloaded, wall, peak memory.

Peak RSS: each job's Python process is watched through ``/proc`` (``VmHWM``, 10 times a
second) in addition to the rules' ``benchmark:`` files, which Snakemake samples every
0.5 s for the first 15 s of a job and every 30 s after that (so they can miss a peak).
Other people use this machine too: each section records the load average and the CPU
time other processes used while it ran; ratios are taken within one run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import math
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from sezlights_standin import blackmarble_tiles, eog_tiles, world  # noqa: E402

from sezlights import index, indexfile, table, zonal  # noqa: E402
from sezlights.sources import blackmarble, eog  # noqa: E402

MONTH = "2019-02"
SERVER_PATH = "nighttime_light/monthly/v10"
USER, PASSWORD = "bench", "bench-password"
CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-client-secret"
EARTHDATA_TOKEN = "bench-earthdata-token"
SIZES = {  # per mode: pixel size, zone counts
    "full": {"pixel_arcsec": 15.0, "sez": (1000, 10000), "memory_sez": 5000},
    "quick": {"pixel_arcsec": 150.0, "sez": (200, 2000), "memory_sez": 500},
}
SECTIONS = ("floor", "stats", "index", "reduce", "memory", "sources", "window", "peer")
SECTIONS += ("peer-each",)  # blackmarblepy one call per tile, after "peer" (not by default)
WINDOW_SECTIONS = ("window", "peer", "peer-each")  # written to <results>-window.json
REQUIRED = {
    "stats_over_floor": 1.3,
    "index_sez_s": 10.0,
    "index_big_s": 60.0,
    "index_big_mb": 4096.0,
    "reduce_s": 0.5,
}
BIG = "big-20x20"
BENCH_RULES = (  # benchmark file folder -> rule
    ("download/", "download_file"),
    ("index_zone_pixels/", "index_zone_pixels"),
    ("stats/", "compute_zone_stats"),
    ("report/plot_zone_timeseries", "plot_zone_timeseries"),
    ("report/map_zones_latest_month/", "map_zones_latest_month"),
    ("mosaic/", "mosaic_month"),
)
SCRIPT_RE = re.compile(r"\.snakemake/scripts/tmp[^/]*?\.(\w+)\.py")
MB = 1024 * 1024


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------------------- zones


def make_zones(n: int, seed: int = 7, prefix: str = "SEZ"):
    """n SEZ-like polygons: most 0.5-5 km across, some on tile borders, some sub-pixel."""
    import geopandas as gpd
    import shapely
    from shapely.affinity import rotate

    rng = np.random.default_rng(seed)
    cities = np.array([(lon, lat) for lon, lat, *_ in world.CITIES])
    geoms = []
    for _ in range(n):
        r = rng.random()
        if r < 0.3:  # around a bright cluster
            lon, lat = cities[rng.integers(len(cities))] + rng.normal(0, 0.3, 2)
        elif r < 0.4:  # on an EOG tile border: the equator, 60W or 60E
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
        {"zone_id": [f"{prefix}{i:05d}" for i in range(n)]}, geometry=geoms, crs="EPSG:4326"
    )


def big_zone(west=20.123, south=-9.877, size=20.0, wiggle=0.05, per_side=400):
    """A 20 x 20 degree zone with a ragged outline (4 x 400 vertices), across the
    equator (two EOG tiles) and nine Black Marble tiles: ~23 million 15" pixels."""
    import shapely

    t = np.linspace(0, 1, per_side, endpoint=False)
    bump = wiggle * np.sin(2 * np.pi * 7 * t) * np.sin(2 * np.pi * 3 * t + 1)
    e, n = west + size, south + size
    xs = np.concatenate([west + size * t, e + bump, e - size * t, west - bump])
    ys = np.concatenate([south - bump, south + size * t, n + bump, n - size * t])
    return shapely.Polygon(np.c_[xs, ys])


def write_zone_files(zdir: Path, mode: dict, sez_dir: Path) -> dict[str, Path]:
    import geopandas as gpd

    zdir.mkdir(parents=True, exist_ok=True)
    files = {}
    for n in mode["sez"]:
        files[f"sez-{n}"] = zdir / f"sez-{n}.gpkg"
        if not files[f"sez-{n}"].exists():
            make_zones(n).to_file(files[f"sez-{n}"], driver="GPKG")
    big = gpd.GeoDataFrame({"zone_id": [BIG]}, geometry=[big_zone()], crs="EPSG:4326")
    files["big"] = zdir / "big-20x20.gpkg"
    if not files["big"].exists():
        big.to_file(files["big"], driver="GPKG")
    m = mode["memory_sez"]
    files["big+sez"] = zdir / f"big-plus-{m}.gpkg"
    if not files["big+sez"].exists():
        both = pd.concat([big, make_zones(m, seed=11)], ignore_index=True)
        gpd.GeoDataFrame(both, crs="EPSG:4326").to_file(files["big+sez"], driver="GPKG")
    osm = sorted(sez_dir.glob("*.geojson")) if sez_dir.is_dir() else []
    if osm:  # read at benchmark time only: the project does not depend on them
        files["osm"] = zdir / "osm-sez.gpkg"
        parts = []
        for p in osm:
            g = gpd.read_file(p).to_crs("EPSG:4326")
            parts.append(
                gpd.GeoDataFrame({"zone_id": [p.stem]}, geometry=[g.union_all()], crs="EPSG:4326")
            )
        pd.concat(parts, ignore_index=True).to_file(files["osm"], driver="GPKG")
    return files


# ---------------------------------------------------------------------------- tiles


def eog_archives(root: Path, pixel_arcsec: float, workers: int = 2) -> dict:
    """The month's six EOG archives under ``root`` (the v10 folder), written if missing."""
    pixel = pixel_arcsec / 3600
    paths = {t: eog_tiles.archive_path(root, MONTH, t, "vcmcfg") for t in eog.TILE_IDS}
    todo = {t: p for t, p in paths.items() if not p.exists()}
    t0 = time.perf_counter()
    if todo:
        log(f'writing {len(todo)} EOG archives at {pixel_arcsec:g}" under {root}')
        with ProcessPoolExecutor(workers) as ex:
            futs = [
                ex.submit(eog_tiles.write_archive_blocks, p, MONTH, t, pixel)
                for t, p in todo.items()
            ]
            for f in futs:
                f.result()
    archives = [str(p) for p in paths.values()]
    return {
        "written": len(todo),
        "write_s": round(time.perf_counter() - t0, 1),
        "archives": archives,
        "archive_bytes": sum(Path(p).stat().st_size for p in archives),
        "shapes": {t: list(eog.tileset(pixel).shape(t)) for t in eog.TILE_IDS},
    }


def bm_tiles_for(zones_path: Path, pixel: float) -> list[str]:
    """Black Marble tiles the zones' windows (padded by a pixel) touch."""
    import geopandas as gpd

    ts = blackmarble.tileset(pixel)
    out: set[str] = set()
    for g in gpd.read_file(zones_path).geometry:
        out.update(ts.tiles_for_window(ts.lattice.window_for_bounds(g.bounds, pad=1)))
    return sorted(out)


def _write_bm(path, tile, pixel, month=MONTH):
    return blackmarble_tiles.write_file(path, month, tile, pixel)


def bm_files(root: Path, tiles: list[str], pixel_arcsec: float, month: str = MONTH) -> dict:
    """The month's Black Marble tiles (2400 x 2400 at 15", chunked 600 x 600 and gzipped as
    the stand-in writes them by default) under ``root``, written if missing."""
    pixel = pixel_arcsec / 3600
    folder = root / blackmarble_tiles.month_folder(month)
    paths = {t: folder / blackmarble_tiles.file_name(month, t) for t in tiles}
    todo = {t: p for t, p in paths.items() if not p.exists()}
    t0 = time.perf_counter()
    if todo:
        log(f'writing {len(todo)} Black Marble tiles at {pixel_arcsec:g}" under {folder}')
        with ProcessPoolExecutor(2) as ex:
            for f in [ex.submit(_write_bm, p, t, pixel, month) for t, p in todo.items()]:
                f.result()
    return {
        "month": month,
        "tiles": tiles,
        "written": len(todo),
        "write_s": round(time.perf_counter() - t0, 1),
        "bytes": sum(p.stat().st_size for p in paths.values()),
        "shape": list(blackmarble.tileset(pixel).shape(tiles[0])) if tiles else None,
    }


def _write_len(root, pixel, layer):
    from sezlights_standin import lighteverynight

    return lighteverynight.write_layers(
        root, MONTH, "slexcl", pixel, block_rows=1024, only=(layer,)
    )


def len_files(root: Path, pixel_arcsec: float) -> dict:
    """The month's Light Every Night bucket under ``root``: the global radiance and
    cloud-free-count COGs (stray light excluded), written if missing (one process each)."""
    from sezlights_standin import lighteverynight

    pixel = pixel_arcsec / 3600
    layers = lighteverynight.layers(MONTH)
    paths = {ly: root / lighteverynight.key(MONTH, "slexcl", ly) for ly in layers}
    return global_geotiffs(
        paths,
        lambda ly: (_write_len, root, pixel, ly),
        f'Light Every Night COGs at {pixel_arcsec:g}" under {root}',
    )


def global_geotiffs(paths: dict, job, what: str) -> dict:
    """The month's global GeoTIFFs (``paths``, by layer), each written if missing by
    ``job(layer)`` (a function and its arguments, one process each), and what each
    file is (size, shape, type, blocks, compression, overviews)."""
    import rasterio

    todo = [ly for ly, p in paths.items() if not p.exists()]
    t0 = time.perf_counter()
    if todo:
        log(f"writing {len(todo)} {what}")
        with ProcessPoolExecutor(2) as ex:
            for f in [ex.submit(*job(ly)) for ly in todo]:
                f.result()
    files = {}
    for ly, p in paths.items():
        with rasterio.open(p) as ds:
            files[ly] = {
                "name": p.name,
                "bytes": p.stat().st_size,
                "shape": list(ds.shape),
                "dtype": ds.dtypes[0],
                "block": list(ds.block_shapes[0]),
                "compress": ds.compression.name if ds.compression else None,
                "overviews": ds.overviews(1),
            }
    return {
        "month": MONTH,
        "written": len(todo),
        "write_s": round(time.perf_counter() - t0, 1),
        "bytes": sum(f["bytes"] for f in files.values()),
        "files": files,
    }


# ---------------------------------------------------------------------------- measuring


class DiskSampler:
    """Peak bytes under a folder, sampled every ``every`` seconds in a thread."""

    def __init__(self, root: Path, every: float = 0.25):
        self.root, self.every = root, every
        self.peak = self.start = self._size()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _size(self) -> int:
        """Bytes on disk under the folder, each file once: a month's downloads are hard
        links in its folder and in the staging folder (``download_month``), one copy."""
        total, seen = 0, set()
        for dirpath, _, files in os.walk(self.root):
            for f in files:
                try:
                    st = os.lstat(os.path.join(dirpath, f))
                except FileNotFoundError:
                    continue
                if (st.st_dev, st.st_ino) not in seen:
                    seen.add((st.st_dev, st.st_ino))
                    total += st.st_blocks * 512
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

    def summary(self) -> dict:
        return {
            "disk_start_gb": round(self.start / 1e9, 3),
            "disk_peak_gb": round(self.peak / 1e9, 3),
            "disk_extra_gb": round((self.peak - self.start) / 1e9, 3),
        }


def _status(pid: int) -> dict[str, int]:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmHWM", "VmRSS")):
                k, v = line.split(":")
                out[k] = int(v.split()[0]) * 1024
    return out


def _stat(pid: int) -> tuple[int, float]:
    """(parent pid, CPU seconds) of a process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / tick


class ProcSampler:
    """Every process under ``root`` (a pid), 10 times a second: its command, parent,
    peak RSS (``VmHWM``, the kernel's own peak, so only the last tenth of a second of a
    process can be missed) and CPU time; and the peak of the whole tree's RSS."""

    def __init__(self, root: int, every: float = 0.1):
        self.root, self.every = root, every
        self.procs: dict[int, dict] = {}
        self.tree_peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _sample(self):
        parent = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    parent[int(d)] = _stat(int(d))[0]
                except (OSError, ValueError, IndexError):
                    pass
        children: dict[int, list[int]] = {}
        for pid, ppid in parent.items():
            children.setdefault(ppid, []).append(pid)
        todo, tree = [self.root], []
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo.extend(children.get(pid, []))
        total = 0
        now = time.time()
        for pid in tree:
            try:
                st = _status(pid)
                ppid, cpu = _stat(pid)
                rec = self.procs.get(pid)
                if rec is None:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
                    rec = self.procs[pid] = {
                        "pid": pid,
                        "ppid": ppid,
                        "cmd": cmd[:400],
                        "hwm": 0,
                        "first": now,
                    }
                rec["hwm"] = max(rec["hwm"], st.get("VmHWM", 0))
                rec["cpu_s"] = cpu
                rec["last"] = now
                total += st.get("VmRSS", 0)
            except (OSError, ValueError, IndexError):
                pass
        self.tree_peak = max(self.tree_peak, total)

    def _run(self):
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.every)

    def stop(self):
        self._stop.set()
        self._t.join()

    def jobs(self) -> dict[str, dict]:
        """Per rule: its jobs' Python processes (the script run by Snakemake) and their
        descendants (a pool's workers): the script's own peak RSS, the sum of the peaks
        of its whole process tree (an upper bound: forked workers share pages), CPU."""
        children: dict[int, list[int]] = {}
        for rec in self.procs.values():
            children.setdefault(rec["ppid"], []).append(rec["pid"])
        rule_of = {
            pid: m.group(1)
            for pid, rec in self.procs.items()
            if (m := SCRIPT_RE.search(rec["cmd"]))
        }
        out: dict[str, dict] = {}
        for pid, rule in rule_of.items():
            if rule_of.get(self.procs[pid]["ppid"]) == rule:
                continue  # a worker forked by the job's script
            tree, todo = [], [pid]
            while todo:
                q = todo.pop()
                tree.append(self.procs[q])
                todo.extend(children.get(q, []))
            rec = self.procs[pid]
            r = out.setdefault(
                rule, {"jobs": 0, "peak_rss_mb": 0.0, "peak_tree_mb": 0.0, "cpu_s_sum": 0.0}
            )
            r["jobs"] += 1
            r["peak_rss_mb"] = round(max(r["peak_rss_mb"], rec["hwm"] / MB), 1)
            r["peak_tree_mb"] = round(max(r["peak_tree_mb"], sum(t["hwm"] for t in tree) / MB), 1)
            r["processes"] = max(r.get("processes", 0), len(tree))
            r["cpu_s_sum"] = round(r["cpu_s_sum"] + sum(t.get("cpu_s", 0.0) for t in tree), 2)
            r["wall_s_max"] = round(max(r.get("wall_s_max", 0), rec["last"] - rec["first"]), 1)
        return out

    def main_peak_mb(self) -> float:
        rec = self.procs.get(self.root)
        return round(rec["hwm"] / MB, 1) if rec else 0.0


class Load:
    """What else ran on the machine during a section: load averages and the CPU time
    all other processes used (all busy CPU time minus this process and its children's)."""

    def __init__(self):
        self.t0, self.busy0, self.mine0 = time.time(), _busy_s(), _mine_s()
        self.load0 = os.getloadavg()

    @staticmethod
    def now() -> dict:
        return {"loadavg": [round(x, 2) for x in os.getloadavg()]}

    def summary(self) -> dict:
        wall = time.time() - self.t0
        other = (_busy_s() - self.busy0) - (_mine_s() - self.mine0)
        return {
            "wall_s": round(wall, 1),
            "loadavg_start": [round(x, 2) for x in self.load0],
            "loadavg_end": [round(x, 2) for x in os.getloadavg()],
            "other_cpu_s": round(max(0.0, other), 1),
            "other_cores_mean": round(max(0.0, other) / wall, 2) if wall > 0 else 0.0,
        }


def _busy_s() -> float:
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _mine_s() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def mem_available_gb() -> float:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable"):
                return int(line.split()[1]) / 2**20
    return 0.0


def read_benchmarks(work: Path) -> dict:
    out: dict[str, dict] = {}
    for f in sorted((work / "benchmarks").rglob("*.tsv")):
        rel = f.relative_to(work / "benchmarks").as_posix()
        rule = next((r for prefix, r in BENCH_RULES if rel.startswith(prefix)), rel)
        row = pd.read_csv(f, sep="\t").iloc[-1]
        d = out.setdefault(rule, {"jobs": 0, "wall_s": [], "cpu_s": [], "rss_mb": []})
        d["jobs"] += 1
        d["wall_s"].append(float(row["s"]))
        d["cpu_s"].append(float(row["cpu_time"]) if pd.notna(row["cpu_time"]) else 0.0)
        d["rss_mb"].append(float(row["max_rss"]) if pd.notna(row["max_rss"]) else 0.0)
    return {
        rule: {
            "jobs": d["jobs"],
            "wall_s_sum": round(sum(d["wall_s"]), 2),
            "wall_s_max": round(max(d["wall_s"]), 2),
            "cpu_s_sum": round(sum(d["cpu_s"]), 2),
            "bench_max_rss_mb": round(max(d["rss_mb"]), 1),
        }
        for rule, d in out.items()
    }


# ---------------------------------------------------------------------------- floor


def _drain(opener, path: str) -> int:
    buf = bytearray(1 << 22)
    n = 0
    with opener(path, "rb") as f:
        while k := f.readinto(buf):
            n += k
    return n


def _isal_open(path, mode):
    from isal import igzip

    return igzip.open(path, mode)


def _zlibng_open(path, mode):
    from zlib_ng import gzip_ng

    return gzip_ng.open(path, mode)


FLOOR_LIBS = ("isal", "zlib-ng", "gzip")


def floor_pass(archives: list[str], libs=FLOOR_LIBS) -> dict:
    """One pass: seconds (wall and CPU) to decompress, and discard, every archive on one
    core with each library, and with ISA-L in two processes (the stats job's two cores)."""
    out: dict = {}
    openers = {"isal": _isal_open, "zlib-ng": _zlibng_open, "gzip": gzip.open}
    for name in libs:
        opener = openers[name]
        t0, c0 = time.perf_counter(), time.process_time()
        n = sum(_drain(opener, a) for a in archives)
        out[name] = {
            "wall_s": round(time.perf_counter() - t0, 2),
            "cpu_s": round(time.process_time() - c0, 2),
        }
        log(f"  floor {name}: {out[name]['wall_s']} s (CPU {out[name]['cpu_s']} s)")
    t0, c0 = time.perf_counter(), _mine_s()
    with ProcessPoolExecutor(2) as ex:
        list(ex.map(_drain, [_isal_open] * len(archives), archives))
    out["isal_two_processes"] = {
        "wall_s": round(time.perf_counter() - t0, 2),
        "cpu_s": round(_mine_s() - c0, 2),
    }
    log(f"  floor isal, two processes: {out['isal_two_processes']['wall_s']} s")
    out["unpacked_gb"] = round(n / 1e9, 2)
    out["at"] = time.strftime("%H:%M:%S")
    out["load"] = Load.now()
    return out


def floor_summary(passes: list[dict]) -> dict:
    """Best of the passes (taken at different times: other users' load varies)."""
    out: dict = {"passes": passes, "unpacked_gb": passes[0]["unpacked_gb"]}
    for name in (*FLOOR_LIBS, "isal_two_processes"):
        out[name] = min(p[name]["wall_s"] for p in passes if name in p)
        out[f"{name}_cpu_s"] = min(p[name]["cpu_s"] for p in passes if name in p)
        out[f"{name}_passes"] = sum(name in p for p in passes)
    out["fastest"] = min(out[k] for k in FLOOR_LIBS)
    out["fastest_lib"] = min(FLOOR_LIBS, key=lambda k: out[k])
    out["fastest_over_two_cores"] = round(out["fastest"] / 2, 2)
    return out


# ---------------------------------------------------------------------------- workflow


class Bench:
    """Working folders, stand-ins and Snakemake runs."""

    def __init__(self, data: Path, mode: dict, eog_srv, laads_srv, bucket_srv=None):
        self.data, self.mode = data, mode
        self.eog, self.laads, self.bucket = eog_srv, laads_srv, bucket_srv

    @property
    def servers(self) -> dict:
        """The stand-ins by source name (what each run's bytes are counted on)."""
        out = {"eog": self.eog, "blackmarble": self.laads}
        if self.bucket is not None:
            out["len"] = self.bucket
        return out

    def env(self) -> dict:
        env = dict(
            os.environ,
            EOG_USERNAME=USER,
            EOG_PASSWORD=PASSWORD,
            EOG_CLIENT_ID=CLIENT_ID,
            EOG_CLIENT_SECRET=CLIENT_SECRET,
            EARTHDATA_TOKEN=EARTHDATA_TOKEN,
        )
        env.pop("EOG_TOKEN", None)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        return env

    def workdir(self, name: str, fresh: bool = False) -> Path:
        work = self.data / name
        if fresh:
            shutil.rmtree(work, ignore_errors=True)
        if not (work / "workflow").exists():
            work.mkdir(parents=True, exist_ok=True)
            for d in ("workflow", "profiles", "config"):
                shutil.copytree(REPO / d, work / d, ignore=shutil.ignore_patterns("__pycache__"))
        return work

    def configure(
        self, work: Path, zones: Path, source="eog", weighting="coverage", **settings
    ) -> None:
        """``config/bench.yaml``: one source, the month :data:`MONTH` on the stand-ins;
        ``settings`` (``len={"read": "window"}``, ``months={...}``) update its sections."""
        px = self.mode["pixel_arcsec"]
        cfg = {
            "months": {"start": MONTH, "end": MONTH},
            "zones": {"path": str(zones), "id_field": "zone_id"},
            "sources": [source],
            "eog": {
                "base_url": f"{self.eog.url}/{SERVER_PATH}",
                "product": "vcmcfg",
                "pixel_arcsec": px,
                "auth": {"token_url": self.eog.token_url},
            },
            "blackmarble": {  # Suomi NPP from the LAADS archive stand-in
                "products": ["VNP46A3"],
                "endpoint": "ladsweb",
                "ladsweb_url": f"{self.laads.url}/archive/allData",
                "pixel_arcsec": px,
            },
            "stats": {"weighting": weighting},
            "download": {"keep": True},
            "mosaic": {"keep": False},
        }
        if self.bucket is not None:
            cfg["len"] = {"base_url": self.bucket.url, "pixel_arcsec": px}
        for section, values in settings.items():
            cfg.setdefault(section, {}).update(values)
        (work / "config" / "bench.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))

    def _sent(self) -> dict[str, dict[str, int]]:
        out = {}
        for name, srv in self.servers.items():
            with srv._lock:
                out[name] = dict(srv.bytes_by_path)
        return out

    def run(self, work: Path, label: str, *args: str, clean=True) -> dict:
        """One ``snakemake`` run in ``work``; per rule: benchmark files and /proc peaks;
        per stand-in: the bytes it sent (``bytes_sent``, by the suffix of the path: the
        truth, listings included), the whole files it served and their bytes.

        Everything but the downloaded files is deleted first, so that every job but the
        downloads runs (Snakemake would skip jobs whose small inputs' checksums did not
        change)."""
        for d in ("benchmarks", "logs"):
            shutil.rmtree(work / d, ignore_errors=True)
        if clean:
            shutil.rmtree(work / "results", ignore_errors=True)
            for p in (work / "resources").glob("*"):
                if p.name != "files":
                    shutil.rmtree(p) if p.is_dir() else p.unlink()
        cmd = [sys.executable, "-m", "snakemake", "--profile", "profiles/laptop"]
        cmd += ["--configfile", "config/bench.yaml", "--cores", "2", *args]
        out_path = work / f"snakemake-{label}.out"
        n_req = {k: len(s.requests) for k, s in self.servers.items()}
        sent0 = self._sent()
        with open(out_path, "w") as out, DiskSampler(work) as disk:
            t0 = time.perf_counter()
            p = subprocess.Popen(cmd, cwd=work, env=self.env(), stdout=out, stderr=out)
            sampler = ProcSampler(p.pid)
            rc = p.wait()
            wall = time.perf_counter() - t0
            sampler.stop()
        if rc != 0:
            tail = "\n".join(out_path.read_text().splitlines()[-30:])
            raise SystemExit(f"snakemake failed in {work} ({label}), exit {rc}:\n{tail}")
        (work / f"processes-{label}.json").write_text(json.dumps(sampler.procs, indent=1))
        sent1 = self._sent()
        whole, served, n_ranged = [], {}, 0
        for name, srv in self.servers.items():
            with srv._lock:
                new = srv.requests[n_req[name] :]
            for method, path, status in new:
                if method != "GET" or not path.endswith((".tgz", ".h5", ".tif")):
                    continue
                if status == 200:
                    whole.append(srv.resolve(path).stat().st_size)
                elif status == 206:
                    n_ranged += 1
            by_kind: dict[str, int] = {}
            for path, n in sent1[name].items():
                d = n - sent0[name].get(path, 0)
                if d:
                    kind = Path(path).suffix or "other"  # listings, logins
                    by_kind[kind] = by_kind.get(kind, 0) + d
            if by_kind:
                served[name] = {"bytes": sum(by_kind.values()), "by_kind": by_kind}
        res = {
            "label": label,
            "args": list(args),
            "wall_s": round(wall, 2),
            **disk.summary(),
            "rules": read_benchmarks(work),
            "processes": sampler.jobs(),
            "snakemake_main_peak_rss_mb": sampler.main_peak_mb(),
            "tree_peak_rss_mb": round(sampler.tree_peak / MB, 1),
            "cpu_s_all": round(sum(r.get("cpu_s", 0.0) for r in sampler.procs.values()), 1),
            "files_downloaded": len(whole),
            "bytes_downloaded": sum(whole),
            "ranged_gets": n_ranged,
            "bytes_sent": sum(v["bytes"] for v in served.values()),
            "sent": served,
        }
        for lg in sorted((work / "logs" / "stats").rglob("*.log")):
            lines = [ln for ln in lg.read_text().splitlines() if "gather" in ln]
            if lines:
                res.setdefault("stats_log", []).append(lines[-1])
        return res


def stats_job(run: dict) -> dict:
    """The stats job's wall (benchmark file), CPU and peak RSS (/proc)."""
    b = run["rules"].get("compute_zone_stats", {})
    p = run["processes"].get("compute_zone_stats", {})
    return {
        "wall_s": b.get("wall_s_max"),
        "cpu_s": p.get("cpu_s_sum") or b.get("cpu_s_sum"),
        "peak_rss_mb": p.get("peak_rss_mb"),
        "bench_max_rss_mb": b.get("bench_max_rss_mb"),
    }


def log_times(run: dict) -> dict:
    """gather/reduce seconds from the stats job's log line."""
    out = {}
    for line in run.get("stats_log", []):
        m = re.search(r"gather ([\d.]+) s.*reduce ([\d.]+) s", line)
        if m:
            out = {"gather_s": float(m.group(1)), "reduce_s": float(m.group(2))}
    return out


# ---------------------------------------------------------------------------- sections


def section_stats(b: Bench, zones: dict, archives: list[str], res: dict, floor_too, args) -> dict:
    n1, n2 = b.mode["sez"]
    z1, z2 = zones[f"sez-{n1}"], zones[f"sez-{n2}"]
    work = b.workdir("work-eog", fresh=True)
    runs = {}
    plan = [
        (f"{n1}_from_scratch", z1, "coverage", []),
        (f"{n1}_downloaded", z1, "coverage", []),
        (f"{n1}_all_touched", z1, "all_touched", []),
        (f"{n2}_downloaded", z2, "coverage", []),
        (f"{n2}_all_touched", z2, "all_touched", []),
    ]
    tables = {}
    for key, zfile, weighting, extra in plan:
        log(f"stats: {key}")
        b.configure(work, zfile, "eog", weighting)
        r = b.run(work, key, "results/zonal_stats.csv", *extra)
        r["stats_job"] = stats_job(r)
        r["stats_job"].update(log_times(r))
        runs[key] = r
        log(
            f"  wall {r['wall_s']} s, stats job {r['stats_job']['wall_s']} s, "
            f"peak {r['stats_job']['peak_rss_mb']} MB, extra disk {r['disk_extra_gb']} GB"
        )
        if weighting == "all_touched":
            tables[zfile.stem] = b.data / f"pipeline-all_touched-{zfile.stem}.csv"
            shutil.copy(work / "results/zonal_stats.csv", tables[zfile.stem])
    out = {"runs": runs}
    if floor_too:
        # Other users' load changes from minute to minute: the floor and the stats job
        # alone are measured in turn, a few rounds, and compared best to best (and
        # round by round). gzip only in the first round (it is the slowest by far).
        first = res["floor"]
        passes, rounds = list(first["passes"]), []
        b.configure(work, z2, "eog", "coverage")
        for i in range(args.rounds):
            log(f"round {i + 1}/{args.rounds}: the floor, then the stats job alone")
            fp = floor_pass(archives, FLOOR_LIBS if i == 0 else ("isal", "zlib-ng"))
            passes.append(fp)
            force = ["--forcerun", "compute_zone_stats"]
            r = b.run(work, f"round{i + 1}", "results/zonal_stats.csv", *force, clean=False)
            sj = dict(stats_job(r), **log_times(r))
            one = min(fp[k]["wall_s"] for k in FLOOR_LIBS if k in fp)
            rounds.append(
                {
                    "stats_job": sj,
                    "floor_one_core_s": one,
                    "isal_two_processes_s": fp["isal_two_processes"]["wall_s"],
                    "stats_over_floor_2cores": round(sj["wall_s"] / (one / 2), 2),
                    "stats_over_isal_two_processes": round(
                        sj["wall_s"] / fp["isal_two_processes"]["wall_s"], 2
                    ),
                    "load": fp["load"],
                }
            )
            log(f"  stats job {sj['wall_s']} s (CPU {sj['cpu_s']} s)")
        res["floor"] = floor_summary(passes)
        res["floor"]["load"] = first.get("load")
        out["rounds"] = rounds
    floor = res.get("floor")
    if not args.skip_naive:
        out["naive"] = run_naive(b, archives, [z1, z2], args.force_naive)
        if "csv" in out["naive"]:
            px = b.mode["pixel_arcsec"] / 3600
            out["agreement"] = {
                stem: compare(tables[stem], Path(csv), zones[stem], px)
                for stem, csv in out["naive"]["csv"].items()
            }
    out["summary"] = stats_summary(out, floor)
    if floor and out.get("rounds"):
        best = min(r["stats_job"]["wall_s"] for r in out["rounds"])
        out["best"] = {
            "stats_job_s": best,
            "floor_over_two_cores_s": floor["fastest_over_two_cores"],
            "stats_over_floor_2cores": round(best / floor["fastest_over_two_cores"], 2),
            "isal_two_processes_s": floor["isal_two_processes"],
            "stats_over_isal_two_processes": round(best / floor["isal_two_processes"], 2),
        }
    return out


def run_naive(b: Bench, archives: list[str], zone_files: list[Path], force: bool) -> dict:
    shape = b.mode["pixel_arcsec"]
    rows, cols = 140 * 3600 / shape, 360 * 3600 / shape
    need_gb = 1.5 * rows * cols * 4 / 2**30  # the merged radiance, and what rasterstats adds
    avail = mem_available_gb()
    if avail < need_gb and not force:
        log(f"naive: skipped, needs ~{need_gb:.0f} GB, {avail:.1f} GB available")
        return {"skipped": f"needs ~{need_gb:.0f} GB of RAM, {avail:.1f} GB were available"}
    log(f"naive: unpack, rasterio.merge, rasterstats ({avail:.1f} GB available)")
    naive_json = b.data / "naive.json"
    cmd = [sys.executable, str(REPO / "bench/naive.py"), str(Path(archives[0]).parent)]
    cmd += [str(b.data / "naive-unpacked"), str(naive_json), *(str(z) for z in zone_files)]
    with DiskSampler(b.data) as disk:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd)
        sampler = ProcSampler(p.pid, every=0.5)
        rc = p.wait()
        sampler.stop()
        wall = time.perf_counter() - t0
    if rc != 0:
        return {"failed": f"exit status {rc}", "wall_s": round(wall, 1)}
    res = json.loads(naive_json.read_text())
    common = sum(res["stages"].values())
    out = {
        "wall_s": round(wall, 2),
        "stages_s": {k: round(v, 2) for k, v in res["stages"].items()},
        "unpacked_gb": round(res["unpacked_bytes"] / 1e9, 2),
        "peak_rss_mb": round(res["peak_rss_mb"], 1),
        "disk_extra_gb": disk.summary()["disk_extra_gb"],
        "per_zone_set": {},
        "csv": {},
    }
    for z, v in res["zones"].items():
        stem = Path(z).stem
        zs = v["stats_avg_rade9h_s"] + v["stats_cf_cvg_s"]
        out["per_zone_set"][stem] = {
            "zones": v["n"],
            "seconds": round(common + zs, 2),
            "rasterstats_s": round(zs, 2),
            "rasterstats_ms_per_zone": round(1000 * zs / v["n"], 3),
        }
        out["csv"][stem] = v["csv"]
    log(f"  naive: {out['wall_s']} s, peak {out['peak_rss_mb']:.0f} MB")
    return out


def compare(pipeline_csv: Path, naive_csv: Path, zones_path: Path, pixel: float) -> dict:
    """The all_touched pipeline table against rasterstats all_touched, zone by zone.

    Statistics other than the pixel count are compared on the zones whose pixel
    counts agree; zones whose counts differ are checked pixel by pixel (exact overlap
    areas with shapely)."""
    a = table.read(pipeline_csv).set_index("zone_id").sort_index()
    b = pd.read_csv(naive_csv, dtype={"zone_id": str}, keep_default_na=False, na_values=[""])
    b = b.set_index("zone_id").reindex(a.index)
    same = a["pixels"].to_numpy(float) == np.nan_to_num(b["count"].to_numpy(float))
    full = (a["observed_share"] == 1).to_numpy() & same
    out: dict = {"zones": len(a)}
    out["count_mismatches"] = explain_mismatches(zones_path, list(a.index[~same]), pixel, a, b)
    checks = (
        ("pixels", "count", None),
        ("sum", "sum", None),
        ("cf_cvg_mean", "cf_cvg_mean", None),
        ("cf_cvg_min", "cf_cvg_min", None),
        ("mean", "mean", full),  # the naive mean counts unobserved pixels (radiance 0)
        ("min", "min", full),
        ("max", "max", full),
    )
    for pa, nb, only in checks:
        x = a[pa].to_numpy(float)
        y = b[nb].to_numpy(float)
        if nb == "count":
            y = np.nan_to_num(y, nan=0.0)
        both = np.isfinite(x) & np.isfinite(y)
        if only is not None:
            both &= only
        elif pa != "pixels":
            both &= same
        d = np.abs(x[both] - y[both])
        big = np.abs(y[both]) >= 1
        rel = d[big] / np.abs(y[both][big])
        out[pa] = {
            "compared": int(both.sum()),
            "equal": int(np.sum(d <= 1e-6 * np.maximum(1, np.abs(y[both])))),
            "max_abs_diff": float(np.max(d, initial=0.0)),
            "max_rel_diff": float(np.max(rel, initial=0.0)),
            "missing_one_side": int(np.sum(np.isfinite(x) != np.isfinite(y))),
        }
    return out


def explain_mismatches(zones_path: Path, ids: list[str], pixel: float, a, b) -> dict:
    """Zones whose pixel counts differ: is every differing pixel one the zone covers by
    less than index.MIN_FRACTION of its area (dropped by the index, counted by GDAL's
    all_touched when the outline touches it)?"""
    import geopandas as gpd
    import shapely

    out = {"zones": len(ids), "explained_by_slivers": 0, "examples": []}
    if not ids:
        return out
    zones = gpd.read_file(zones_path).set_index("zone_id")
    lat = eog.tileset(pixel).lattice
    p = lat.pixel
    for zid in ids[:200]:
        g = zones.loc[zid].geometry
        w = lat.window_for_bounds(g.bounds, pad=1)
        rows, cols = np.mgrid[0 : int(w.height), 0 : int(w.width)]
        x0 = lat.west + (int(w.col_off) + cols) * p
        y1 = lat.north - (int(w.row_off) + rows) * p
        boxes = shapely.box(x0, y1 - p, x0 + p, y1)
        frac = shapely.area(shapely.intersection(boxes, g)) / (p * p)
        touch = shapely.intersects(boxes, g)
        n_pos = int((frac >= index.MIN_FRACTION).sum())
        n_sliver = int((touch & (frac < index.MIN_FRACTION)).sum())
        pipe, naive = float(a.loc[zid, "pixels"]), float(np.nan_to_num(b.loc[zid, "count"]))
        ok = pipe == n_pos and n_pos <= naive <= n_pos + n_sliver
        out["explained_by_slivers"] += int(ok)
        if len(out["examples"]) < 5:
            out["examples"].append(
                {"zone_id": zid, "pipeline": pipe, "rasterstats": naive, "exact_pixels": n_pos,
                 "sliver_pixels": n_sliver, "largest_sliver": float(
                     np.max(frac[touch & (frac < index.MIN_FRACTION)], initial=0.0))}
            )  # fmt: skip
    return out


def stats_summary(out: dict, floor: dict | None) -> dict:
    summ = {}
    naive = out.get("naive", {})
    for key, r in out["runs"].items():
        sj = r["stats_job"]
        s = {
            "run_wall_s": r["wall_s"],
            "stats_job_s": sj["wall_s"],
            "stats_job_cpu_s": sj["cpu_s"],
            "stats_job_peak_rss_mb": sj["peak_rss_mb"],
            "index_job_s": r["rules"].get("index_zone_pixels", {}).get("wall_s_max"),
            "peak_job_rss_mb": max(
                (p["peak_tree_mb"] for p in r["processes"].values()), default=None
            ),
            "disk_extra_gb": r["disk_extra_gb"],
        }
        if floor and sj["wall_s"]:
            s["stats_over_floor_2cores"] = round(sj["wall_s"] / floor["fastest_over_two_cores"], 2)
            s["stats_over_isal_two_processes"] = round(
                sj["wall_s"] / floor["isal_two_processes"], 2
            )
            if sj["cpu_s"]:
                s["stats_cpu_over_isal_cpu"] = round(sj["cpu_s"] / floor["isal_cpu_s"], 2)
        n = key.split("_")[0]
        zs = naive.get("per_zone_set", {}).get(f"sez-{n}")
        if zs and key.endswith("downloaded"):
            s["naive_s"] = zs["seconds"]
            s["speedup_vs_naive_run"] = round(zs["seconds"] / r["wall_s"], 1)
            s["speedup_vs_naive_stats_job"] = round(zs["seconds"] / sj["wall_s"], 1)
            s["memory_ratio_vs_naive"] = round(naive["peak_rss_mb"] / s["peak_job_rss_mb"], 1)
        summ[key] = s
    return summ


def section_index(b: Bench, zones: dict) -> dict:
    out = {}
    n = b.mode["sez"][1]
    for source in ("eog", "blackmarble"):
        for key, z in ((f"sez-{n}", zones[f"sez-{n}"]), ("big", zones["big"])):
            log(f"index: {source}, {key} (fresh process)")
            dest = b.data / f"index-{source}-{key}.json"
            cmd = [sys.executable, str(Path(__file__).resolve()), "--index-worker"]
            cmd += [str(z), source, str(b.mode["pixel_arcsec"]), str(dest)]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True)
            r = json.loads(dest.read_text())
            r["process_wall_s"] = round(time.perf_counter() - t0, 2)
            out[f"{source}/{key}"] = r
            log(
                f"  build {r['build_s']} s, job work {r['job_s']} s, "
                f"peak {r['peak_rss_mb']} MB ({r['pixels']:,} pixels)"
            )
    return out


def index_worker(zones_path: str, source: str, pixel_arcsec: str, dest: str) -> None:
    """In a fresh process: read the zones, build and save the index; times and peak RSS."""
    from sezlights.zones import load_zones

    rss0 = _status(os.getpid())["VmRSS"]
    pixel = float(pixel_arcsec) / 3600
    tiles = (eog.tileset if source == "eog" else blackmarble.tileset)(pixel)
    t0, c0 = time.perf_counter(), time.process_time()
    zones = load_zones(zones_path, "zone_id")
    t1, c1 = time.perf_counter(), time.process_time()
    rss1 = _status(os.getpid())["VmRSS"]
    idx = index.build_index(zones, tiles)
    t2, c2 = time.perf_counter(), time.process_time()
    npz = Path(dest).with_suffix(".npz")
    indexfile.save(idx, npz)
    t3, c3 = time.perf_counter(), time.process_time()
    windows = [
        tiles.lattice.window_for_bounds(p.bounds, pad=1)
        for p in zones.geometry.explode(index_parts=False)
    ]
    s = index.summary(idx)
    res = {
        "zones": s["zones"],
        "pixels": s["pixels"],
        "entries": s["entries"],
        "largest_zone_pixels": s["largest_zone_pixels"],
        "largest_window_pixels": max(int(w.width * w.height) for w in windows),
        "coverage_sum": round(float(np.sum(idx["weight"] * idx["length"])), 1),
        "read_s": round(t1 - t0, 2),
        "build_s": round(t2 - t1, 2),
        "save_s": round(t3 - t2, 2),
        "job_s": round(t3 - t0, 2),
        "build_cpu_s": round(c2 - c1, 2),
        "job_cpu_s": round(c3 - c0, 2),
        "rss_after_imports_mb": round(rss0 / MB, 1),
        "rss_before_build_mb": round(rss1 / MB, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "npz_mb": round(npz.stat().st_size / 1e6, 2),
    }
    npz.unlink()
    Path(dest).write_text(json.dumps(res, indent=2))


def section_reduce(b: Bench, zones: dict, stats: dict | None) -> dict:
    from sezlights.zones import load_zones

    n = b.mode["sez"][1]
    idx = index.build_index(
        load_zones(zones[f"sez-{n}"], "zone_id"), eog.tileset(b.mode["pixel_arcsec"] / 3600)
    )
    total = int(idx["length"].sum())
    rng = np.random.default_rng(3)
    rad = rng.lognormal(0, 1.5, total).astype(np.float32) - 0.3
    rad[rng.random(total) < 0.03] = np.nan
    cvg = rng.integers(0, 25, total).astype(np.float32)
    values = {"radiance": rad, "coverage": cvg, "covered": rng.random(total) > 0.001}
    out = {"zones": n, "pixels": total, "entries": int(idx["zone"].size)}
    for weighting in ("coverage", "all_touched"):
        best = math.inf
        for _ in range(3):
            t0 = time.perf_counter()
            zonal.reduce(idx, values, MONTH, "eog", "npp", weighting)
            best = min(best, time.perf_counter() - t0)
        out[f"{weighting}_s"] = round(best, 4)
        log(f"reduce: {n} zones, {total:,} pixels, {weighting}: {best:.3f} s")
    run = (stats or {}).get("runs", {}).get(f"{n}_downloaded")
    if run:
        out["in_stats_job_s"] = log_times(run).get("reduce_s")
    return out


def resource_functions(work: Path) -> dict:
    """The mem_mb functions of the workflow's common.smk, run as they are."""
    text = (work / "workflow/rules/common.smk").read_text() + "\n#end\n"
    ns: dict = {"json": json, "math": math, "Path": Path}
    for line in re.findall(r"^(?:import [\w.]+|from [\w.]+ import [\w, ]+)$", text, re.M):
        exec(line, ns)  # noqa: S102 - the rule file's own imports (sezlights.memory, ...)
    m = re.search(r"^MAP_PIXELS = (\d+)", text, re.M)
    ns["MAP_PIXELS"] = int(m.group(1)) if m else 600
    for fm in re.finditer(r"^def (\w+)\(.*?(?=^\S)", text, re.M | re.S):
        if fm.group(1) in ("_read_json", "_mb") or fm.group(1).endswith("_mem_mb"):
            exec(fm.group(0), ns)  # noqa: S102 - the workflow's own code
    return ns


def declared_mem_mb(work: Path, source: str = "eog") -> dict:
    """What each rule declared for this run's inputs (attempt 1)."""
    fn = resource_functions(work)
    w = SimpleNamespace(source=source)

    def files(*paths):  # the rule's input as Snakemake hands it: the files, and their size
        class Input(list):
            size_mb = sum((work / p).stat().st_size for p in paths) / MB

        return Input(str(work / p) for p in paths)

    profile = yaml.safe_load((work / "profiles/laptop/config.yaml").read_text())
    default = next(
        int(x.split("=")[1]) for x in profile.get("default-resources", []) if x.startswith("mem_mb")
    )
    table_in = "results/zonal_stats.csv"
    shown = "results/report/zones_shown.csv"
    return {
        "index_zone_pixels": fn["index_mem_mb"](
            w, SimpleNamespace(summary=str(work / "results/zones_summary.json")), 1
        ),
        "compute_zone_stats": fn["stats_mem_mb"](
            w, SimpleNamespace(index_summary=str(work / f"resources/index/{source}.json")), 1
        ),
        "map_zones_latest_month": fn["maps_mem_mb"](w, SimpleNamespace(shown=str(work / shown)), 1),
        "plot_zone_timeseries": fn["table_mem_mb"](w, files(table_in, shown), 1),
        "tabulate_zonal_stats": fn["table_mem_mb"](w, files(table_in), 1),
        "plot_all_zones_overview": fn["table_mem_mb"](w, files(table_in), 1),
        "combine_zone_stats": default,
        "prepare_zones": default,
        "choose_report_zones": default,
        "summarize_run_provenance": default,
        "list_month_files": default,
        "download_file": 512,
    }


def section_memory(b: Bench, zones: dict) -> dict:
    work = b.workdir("work-eog")
    b.configure(work, zones["big+sez"], "eog", "coverage")
    log("memory: 20 x 20 degree zone + SEZs, whole workflow (report included)")
    r = b.run(work, "memory")
    declared = declared_mem_mb(work)
    inputs = {
        "zones_summary": json.loads((work / "results/zones_summary.json").read_text()),
        "index_summary": json.loads((work / "resources/index/eog.json").read_text()),
        "zones_shown": sum(1 for _ in open(work / "results/report/zones_shown.csv")) - 1,
        "table_mb": round((work / "results/zonal_stats.csv").stat().st_size / MB, 2),
    }
    jobs = {}
    for rule, dec in declared.items():
        p = r["processes"].get(rule)
        bm = r["rules"].get(rule, {})
        if not p:
            continue
        measured = p["peak_tree_mb"]
        cluster = measured + r["snakemake_main_peak_rss_mb"]
        jobs[rule] = {
            "script_peak_rss_mb": p["peak_rss_mb"],
            "job_peak_rss_mb": measured,
            "with_job_snakemake_mb": round(cluster, 1),
            "bench_max_rss_mb": bm.get("bench_max_rss_mb"),
            "wall_s": bm.get("wall_s_max") or p.get("wall_s_max"),
            "cpu_s": p["cpu_s_sum"],
            "declared_mem_mb": dec,
            "headroom": round(dec / measured, 2) if measured else None,
            "headroom_cluster": round(dec / cluster, 2) if cluster else None,
        }
        log(f"  {rule}: measured {measured:.0f} MB ({cluster:.0f} with a job-level Snakemake), "
            f"declared {dec} MB")  # fmt: skip
    # the other weighting: all_touched adds an array of weights (only the stats job reruns)
    b.configure(work, zones["big+sez"], "eog", "all_touched")
    log("memory: the same with stats.weighting all_touched")
    r2 = b.run(work, "memory-all_touched", "results/zonal_stats.csv", clean=False)
    p = r2["processes"].get("compute_zone_stats")
    if p:
        dec = declared["compute_zone_stats"]
        measured = p["peak_tree_mb"]
        cluster = measured + r2["snakemake_main_peak_rss_mb"]
        jobs["compute_zone_stats (all_touched)"] = {
            "script_peak_rss_mb": p["peak_rss_mb"],
            "job_peak_rss_mb": measured,
            "with_job_snakemake_mb": round(cluster, 1),
            "bench_max_rss_mb": r2["rules"].get("compute_zone_stats", {}).get("bench_max_rss_mb"),
            "wall_s": r2["rules"].get("compute_zone_stats", {}).get("wall_s_max"),
            "cpu_s": p["cpu_s_sum"],
            "declared_mem_mb": dec,
            "headroom": round(dec / measured, 2),
            "headroom_cluster": round(dec / cluster, 2),
        }
        log(f"  compute_zone_stats (all_touched): measured {measured:.0f} MB, declared {dec} MB")
    return {
        "run": r,
        "run_all_touched": r2,
        "inputs": inputs,
        "jobs": jobs,
        "stats_job": dict(stats_job(r), **log_times(r)),
    }


def coefficients(res: dict) -> dict:
    """Measured memory per unit (slope between a small and a large case), next to the
    constants of sezlights.memory (what common.smk's resource functions use)."""
    try:
        from sezlights import memory
    except ImportError:  # older layout: the coefficients were in common.smk itself
        memory = None
    out: dict = {}
    mem, st, ix = res.get("memory", {}), res.get("stats", {}).get("runs", {}), res.get("index")
    jobs = mem.get("jobs", {})
    small = next((r for k, r in st.items() if k.endswith("_downloaded")), None)
    if small and "compute_zone_stats" in jobs:
        m = re.search(r"(\d+) pixels", " ".join(small.get("stats_log", [])))
        px_small = int(m.group(1)) if m else 0
        peak_small = small["processes"]["compute_zone_stats"]["peak_tree_mb"]
        px_big = mem["inputs"]["index_summary"]["pixels"]
        peak_big = max(
            j["job_peak_rss_mb"] for k, j in jobs.items() if k.startswith("compute_zone_stats")
        )
        slope = (peak_big - peak_small) / (px_big - px_small)
        out["stats"] = {
            "pixels": [px_small, px_big],
            "peak_mb": [peak_small, peak_big],
            "measured_mb_per_pixel": round(slope, 8),
            "intercept_mb": round(peak_small - slope * px_small, 1),
            "current_mb_per_pixel": getattr(memory, "STATS_MB_PER_PIXEL", None),
            "current_declared_mb": jobs["compute_zone_stats"]["declared_mem_mb"],
        }
    if ix and "eog/big" in ix:
        big, sm = ix["eog/big"], next(v for k, v in ix.items() if k.startswith("eog/sez"))
        dw = big["largest_window_pixels"] - sm["largest_window_pixels"]
        slope = (big["peak_rss_mb"] - sm["peak_rss_mb"]) / dw
        out["index"] = {
            "window_pixels": [sm["largest_window_pixels"], big["largest_window_pixels"]],
            "peak_mb": [sm["peak_rss_mb"], big["peak_rss_mb"]],
            "measured_mb_per_window_pixel": round(slope, 8),
            "current_mb_per_window_pixel": getattr(memory, "INDEX_MB_PER_WINDOW_PIXEL", None),
        }
    if memory is not None:
        out["base_mb"] = getattr(memory, "BASE_MB", None)
    return out


def section_sources(b: Bench, zones: dict) -> dict:
    if "osm" not in zones:
        return {"skipped": "no SEZ outlines found (--sez-dir)"}
    pixel = b.mode["pixel_arcsec"] / 3600
    tiles = bm_tiles_for(zones["osm"], pixel)
    bm = bm_files(b.data / "laads", tiles, b.mode["pixel_arcsec"])
    out = {"blackmarble_files": bm}
    for source in ("eog", "blackmarble"):
        work = b.workdir(f"work-sources-{source}", fresh=True)
        b.configure(work, zones["osm"], source, "coverage")
        log(f"sources: nine SEZ outlines from {source}, from nothing")
        r = b.run(work, f"sources-{source}", "results/zonal_stats.csv")
        peak = max((p["peak_tree_mb"] for p in r["processes"].values()), default=0)
        out[source] = {
            "run": r,
            "wall_s": r["wall_s"],
            "files_downloaded": r["files_downloaded"],
            "bytes_downloaded": r["bytes_downloaded"],
            "peak_job_rss_mb": peak,
            "peak_job": max(r["processes"], key=lambda k: r["processes"][k]["peak_tree_mb"]),
            "snakemake_main_peak_rss_mb": r["snakemake_main_peak_rss_mb"],
            "run_peak_rss_mb": r["tree_peak_rss_mb"],
            "stats_job": stats_job(r),
            "table": table.read(work / "results/zonal_stats.csv")[
                ["zone_id", "pixels", "observed_share", "mean", "sum", "quality"]
            ].to_dict(orient="records"),
        }
        log(
            f"  {r['files_downloaded']} files, {r['bytes_downloaded'] / 1e9:.3f} GB, "
            f"wall {r['wall_s']} s, peak job {peak:.0f} MB"
        )
        shutil.rmtree(work / "resources" / "files", ignore_errors=True)  # disk
    return out


# ---------------------------------------------------------------------------- bytes each way

WAYS = ("download", "window", "auto")  # len.read / blackmarble.read
EOG_WAYS = ("tiles", "notile", "auto")  # eog.layout, in the same roles
TARGET_SEZ_BYTES = 5_000_000  # issue 19: the nine SEZs under 5 MB a month (LEN, EOG notile)
TARGET_AUTO = 1.1  # auto never above 1.1 x the cheaper way
PEER_MONTHS = ("2019-01", "2019-02", "2019-03")
PEER_VERSION = "2026.6.1"
# the table columns every way must give alike (the statistics, not the provenance)
STAT_COLUMNS = (
    "pixels", "pixels_observed", "observed_share", "sum", "mean", "median", "min", "max", "std",
    "cf_cvg_mean", "cf_cvg_min",
)  # fmt: skip


def window_zone_sets(zones: dict, mode: dict) -> list[tuple[str, Path]]:
    n1, n2 = mode["sez"]
    out = [("osm", zones["osm"])] if "osm" in zones else []
    return out + [(f"sez-{n1}", zones[f"sez-{n1}"]), (f"sez-{n2}", zones[f"sez-{n2}"])]


def manifest_summary(work: Path, source: str, months=(MONTH,)) -> dict:
    """What the listings decided, from the months' manifests: granules per way, and the
    bytes each way as the listing estimated them (whole files; by window where it asked)."""
    out = {"granules": 0, "reads": {}, "est_whole": 0, "est_window": 0, "estimated": 0}
    out["notes"] = []
    for month in months:
        m = json.loads((work / "results" / "manifests" / source / f"{month}.json").read_text())
        for g in m["granules"]:
            out["granules"] += 1
            out["reads"][g["read"]] = out["reads"].get(g["read"], 0) + 1
            out["est_whole"] += g.get("bytes_download") or 0
            if g.get("bytes_window") is not None:
                out["est_window"] += g["bytes_window"]
                out["estimated"] += 1
        out["notes"] += m.get("notes", [])[:5]
    return out


def _stats_table(work: Path) -> pd.DataFrame:
    t = table.read(work / "results/zonal_stats.csv")
    keep = ["zone_id", "month", *[c for c in STAT_COLUMNS if c in t.columns]]
    return t[keep].sort_values(["zone_id", "month"]).reset_index(drop=True)


def same_statistics(a: pd.DataFrame, b: pd.DataFrame) -> dict:
    """Whether two runs' tables hold the same statistics (exactly; NaN equal to NaN)."""
    if len(a) != len(b) or list(a["zone_id"]) != list(b["zone_id"]):
        return {"equal": False, "why": "different rows"}
    worst, differing = 0.0, 0
    for c in a.columns[2:]:
        x, y = a[c].to_numpy(float), b[c].to_numpy(float)
        both_nan = np.isnan(x) & np.isnan(y)
        d = np.where(both_nan, 0.0, np.abs(x - y))
        d = np.nan_to_num(d, nan=np.inf)
        differing += int((d > 0).sum())
        worst = max(worst, float(d.max(initial=0.0)))
    return {"equal": differing == 0, "values_differing": differing, "max_abs_diff": worst}


def way_run(
    b: Bench, work: Path, source: str, zkey: str, zfile: Path, way: str, listed=(MONTH,), **cfg
) -> dict:
    """One month from nothing (no file on disk, nothing listed) one way: the stand-in's
    bytes sent, the manifest's estimates, wall, CPU and peak memory."""
    label = f"{source}-{zkey}-{way}"
    log(f"window: {label}")
    b.configure(work, zfile, source, "coverage", **cfg)
    shutil.rmtree(work / "resources" / "files", ignore_errors=True)
    load = Load()
    r = b.run(work, label, "results/zonal_stats.csv")
    rules = r["rules"]
    jobs = r["processes"]
    out = {
        "wall_s": r["wall_s"],
        "bytes_sent": r["bytes_sent"],
        "sent": r["sent"],
        "files_whole": r["files_downloaded"],
        "bytes_whole": r["bytes_downloaded"],
        "ranged_gets": r["ranged_gets"],
        "manifest": manifest_summary(work, source, listed),
        "stats_job_s": rules.get("compute_zone_stats", {}).get("wall_s_max"),
        "download_job_s": rules.get("download_month_files", {}).get("wall_s_max")
        or rules.get("download_file", {}).get("wall_s_sum"),
        "index_job_s": rules.get("index_zone_pixels", {}).get("wall_s_max"),
        "peak_job_rss_mb": max((p["peak_tree_mb"] for p in jobs.values()), default=0.0),
        "peak_job": max(jobs, key=lambda k: jobs[k]["peak_tree_mb"]) if jobs else None,
        "run_peak_rss_mb": r["tree_peak_rss_mb"],
        "cpu_s_all": r["cpu_s_all"],
        "disk_extra_gb": r["disk_extra_gb"],
        "load": load.summary(),
        "at": time.strftime("%H:%M:%S"),
    }
    log(
        f"  {out['bytes_sent'] / 1e6:,.2f} MB sent ({out['files_whole']} whole files, "
        f"{out['ranged_gets']} ranged GETs), wall {out['wall_s']} s, reads "
        f"{out['manifest']['reads']}, peak job {out['peak_job_rss_mb']:.0f} MB"
    )
    shutil.rmtree(work / "resources" / "files", ignore_errors=True)  # disk
    return out


def ways_of(b: Bench, source: str, zkey: str, zfile: Path, ways, settings) -> dict:
    """Each way of reading a source for one zone set, in one working folder; the tables
    of every way compared with the first's."""
    work = b.workdir(f"work-window-{source}", fresh=True)
    out: dict = {}
    first = None
    for way in ways:
        cfg = settings(way)
        out[way] = way_run(b, work, source, zkey, zfile, way, **cfg)
        t = _stats_table(work)
        if first is None:
            first = (way, t)
        else:
            out[way]["same_statistics_as"] = {first[0]: same_statistics(first[1], t)}
    return out


def eog_way(layout: str):
    """The EOG settings for one layout (``eog.layout``): ``tiles`` (the tiled archives),
    ``notile`` (the untiled global GeoTIFFs, by window where that fetches fewer bytes) or
    ``auto`` (the cheaper of the two, from the files' own headers)."""
    return lambda way: {"eog": {"layout": layout}}


NOTILE_PATH = "nighttime_light/monthly_notile/v10"
NOTILE_LAYERS = ("avg_rade9h", "cf_cvg")  # what the statistics read (eog.NOTILE_KINDS)


def _write_notile(path, pixel, layer):
    from sezlights_standin import eog_notile

    return eog_notile.write_layer(path, MONTH, layer, pixel, "tiled")


def eog_notile_files(root: Path, pixel_arcsec: float) -> dict:
    """The month's untiled EOG GeoTIFFs under ``root`` (the ``monthly_notile/v10``
    folder), internally tiled 256 x 256 with LZW as the stand-in writes them (2021's
    real files are so tiled; docs/evidence/eog-notile.md), written if missing (one
    process per layer)."""
    from sezlights_standin import eog_notile, eog_tiles

    pixel = pixel_arcsec / 3600
    stamp = eog_tiles.default_stamp(MONTH, "vcmcfg")
    sat = eog_tiles.satellite(MONTH)
    folder = root / eog_notile.month_folder(MONTH, "vcmcfg")
    paths = {
        ly: folder / eog_notile.file_name(MONTH, "vcmcfg", stamp, sat, ly) for ly in NOTILE_LAYERS
    }
    return global_geotiffs(
        paths,
        lambda ly: (_write_notile, paths[ly], pixel, ly),
        f'untiled EOG GeoTIFFs at {pixel_arcsec:g}" under {root}',
    )


def section_window(b: Bench, zones: dict, args) -> dict:
    """Bytes each way, per month: Light Every Night (len.read) and Black Marble
    (blackmarble.read) whole files vs window vs auto, EOG's tiled archives, for the nine
    real SEZs and 1,000 / 10,000 SEZ-sized zones over the world."""
    px = b.mode["pixel_arcsec"]
    sets = window_zone_sets(zones, b.mode)
    if args.window_zones:
        sets = [(k, z) for k, z in sets if k in args.window_zones.split(",")]
    sources = args.window_sources.split(",")
    out: dict = {"month": MONTH, "zone_sets": {k: str(z) for k, z in sets}, "runs": {}}
    if "len" in sources:
        out["len_files"] = len_files(b.data / "len", px)
    if "eog" in sources:
        out["eog_notile_files"] = eog_notile_files(b.data / "eog" / NOTILE_PATH, px)
    if "blackmarble" in sources:
        tiles = sorted(set().union(*(bm_tiles_for(z, px / 3600) for _, z in sets)))
        out["blackmarble_files"] = bm_files(b.data / "laads", tiles, px)
        out["blackmarble_files"]["chunks"] = "600 x 600, gzip level 4 (the stand-in's default)"
    for source in sources:
        for zkey, zfile in sets:
            key = f"{source}/{zkey}"
            if source == "eog":
                res = ways_of(
                    b, source, zkey, zfile, EOG_WAYS, lambda layout: eog_way(layout)(layout)
                )
            else:
                res = ways_of(
                    b, source, zkey, zfile, WAYS, lambda way, s=source: {s: {"read": way}}
                )
            out["runs"][key] = res
            out["runs"][key]["ratios"] = way_ratios(source, zkey, res)
    out["targets"] = window_targets(out)
    return out


def merge_parts(old: dict | None, new: dict) -> dict:
    """The window section run in parts (``--window-sources``, ``--window-zones``): the
    runs of earlier parts kept unless rerun, each part's times and load listed, the
    targets taken again over all runs."""
    parts = (old or {}).get("parts", [])
    if old and not parts:
        parts = [{k: old[k] for k in ("started", "finished", "load") if k in old}]
    part = {k: new[k] for k in ("started", "finished", "load")}
    part["runs"] = list(new["runs"])
    if not old or old.get("month") != new.get("month"):
        return dict(new, parts=[part])
    out = dict(old)
    for k, v in new.items():
        if k not in ("runs", "parts"):
            out[k] = v
    out["zone_sets"] = {**old.get("zone_sets", {}), **new["zone_sets"]}
    out["runs"] = {**old.get("runs", {}), **new["runs"]}
    out["parts"] = parts + [part]
    out["started"] = min(p["started"] for p in out["parts"] if "started" in p)
    out["targets"] = window_targets(out)
    return out


def way_ratios(source: str, zkey: str, res: dict) -> dict:
    """window / whole and auto / the cheaper of the two (bytes the stand-in sent); for
    EOG the ways are its layouts: the tiled archives (whole files), the untiled files
    (by window) and ``auto``."""
    ways = EOG_WAYS if source == "eog" else WAYS
    if not all(w in res and "bytes_sent" in res[w] for w in ways):
        return {}
    whole, win, auto = (res[w]["bytes_sent"] for w in ways)
    res = dict(zip(WAYS, (res[w] for w in ways), strict=True))
    cheaper = min(whole, win)
    return {
        "window_over_whole": round(win / whole, 5) if whole else None,
        "auto_over_cheaper": round(auto / cheaper, 3) if cheaper else None,
        "cheaper": "window" if win <= whole else "download",
        "auto_took": res["auto"]["manifest"]["reads"],
        "wall_window_over_whole": round(res["window"]["wall_s"] / res["download"]["wall_s"], 2),
        "wall_auto_over_cheaper_way": round(
            res["auto"]["wall_s"] / res["window" if win <= whole else "download"]["wall_s"], 2
        ),
    }


def window_targets(out: dict) -> list[dict]:
    rows = []
    for key, res in out["runs"].items():
        source, zkey = key.split("/")
        r = res.get("ratios") or {}
        if r.get("auto_over_cheaper") is not None:
            v = r["auto_over_cheaper"]
            rows.append(
                {"target": f"{source} {zkey}: auto <= {TARGET_AUTO} x the cheaper way (bytes)",
                 "measured": v, "limit": TARGET_AUTO, "met": v <= TARGET_AUTO}
            )  # fmt: skip
        if zkey == "osm" and source in ("len", "eog"):
            for way in ("notile", "auto") if source == "eog" else ("window", "auto"):
                if "bytes_sent" not in res.get(way, {}):
                    continue
                v = res[way]["bytes_sent"]
                rows.append(
                    {"target": f"{source} nine SEZs, {way}: under 5 MB a month",
                     "measured": round(v / 1e6, 3), "limit": TARGET_SEZ_BYTES / 1e6,
                     "met": v < TARGET_SEZ_BYTES}
                )  # fmt: skip
    return rows


# ------------------------------------------------------------------ the peer: blackmarblepy


def peer_python(args) -> Path | None:
    p = Path(args.peer_python) if args.peer_python else None
    return p if p is not None and p.exists() else None


def section_peer(b: Bench, zones: dict, args) -> dict:
    """Nine SEZs x three months of VNP46A3 from the LAADS stand-in: the pipeline (whole
    files, and blackmarble.read: auto) against blackmarblepy's ``bm_extract`` (pinned
    :data:`PEER_VERSION`, in its own virtual environment), same served files, one run
    each, from nothing."""
    py = peer_python(args)
    if "osm" not in zones:
        return {"skipped": "no SEZ outlines found (--sez-dir)"}
    if py is None:
        return {"skipped": f"no blackmarblepy Python (--peer-python {args.peer_python})"}
    px = b.mode["pixel_arcsec"]
    script = REPO / "bench" / "peer_blackmarblepy.py"
    version = subprocess.run(
        [str(py), "-c", "import blackmarble; print(blackmarble.__version__)"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    peer_tiles = json.loads(
        subprocess.run(
            [str(py), str(script), "tiles", str(zones["osm"])],
            capture_output=True,
            text=True,
            check=True,
        ).stdout  # fmt: skip
    )
    tiles = sorted(set(bm_tiles_for(zones["osm"], px / 3600)) | set(peer_tiles))
    files = {m: bm_files(b.data / "laads", tiles, px, m) for m in PEER_MONTHS}
    served = [
        b.data / "laads" / blackmarble_tiles.month_folder(m) / blackmarble_tiles.file_name(m, t)
        for m in PEER_MONTHS
        for t in tiles
    ]
    for f in served:  # the same start for everyone: the served files in the page cache
        _drain(open, str(f))
    out: dict = {
        "months": list(PEER_MONTHS),
        "tiles": tiles,
        "peer_tiles": peer_tiles,
        "files": len(served),
        "file_bytes": sum(f.stat().st_size for f in served),
        "write_s": sum(f["write_s"] for f in files.values()),
        "peer_version": version,
        "pinned": PEER_VERSION,
    }
    # blackmarblepy first, then the pipeline whole, then auto
    prev = (getattr(args, "previous_peer", None) or {}).get("blackmarblepy", {})
    if args.peer_skip_one_call and "failed" in prev:  # an OOM kill hits the others' work too
        out["blackmarblepy"] = dict(prev, not_rerun="failed before; see peer-each")
    else:
        out["blackmarblepy"] = peer_run(b, py, script, zones["osm"])
    work = b.workdir("work-peer", fresh=True)
    tables = {}
    for way in ("download", "auto"):
        out[f"pipeline_{way}"] = peer_pipeline_run(b, work, zones, way)
        tables[way] = _stats_table(work)
    out["pipeline_auto"]["same_statistics_as"] = {
        "download": same_statistics(tables["download"], tables["auto"])
    }
    out["agreement"] = peer_agreement(tables["download"], out["blackmarblepy"].get("table"))
    if "failed" in out["blackmarblepy"]:  # no wall time to compare with: see peer-each
        return out
    peer = out["blackmarblepy"]["wall_s"]
    for way in ("download", "auto"):
        out[f"pipeline_{way}"]["over_peer_wall"] = round(out[f"pipeline_{way}"]["wall_s"] / peer, 2)
    out["target"] = {
        "target": "pipeline no slower than blackmarblepy (nine SEZs, three months, wall)",
        "download": out["pipeline_download"]["over_peer_wall"],
        "auto": out["pipeline_auto"]["over_peer_wall"],
        "met_download": out["pipeline_download"]["over_peer_wall"] <= 1.0,
        "met_auto": out["pipeline_auto"]["over_peer_wall"] <= 1.0,
    }
    return out


def section_peer_each(b: Bench, zones: dict, args, peer: dict) -> dict:
    """The peer section's blackmarblepy run again, one ``bm_extract`` call per tile (when
    one call over the nine SEZs ran out of memory), against the pipeline runs the peer
    section recorded; the target taken against it."""
    py = peer_python(args)
    if py is None or not peer.get("pipeline_download"):
        return dict(peer, each={"skipped": "run the peer section first"})
    script = REPO / "bench" / "peer_blackmarblepy.py"
    for m in PEER_MONTHS:
        for t in peer["tiles"]:
            f = b.data / "laads" / blackmarble_tiles.month_folder(m)
            _drain(open, str(f / blackmarble_tiles.file_name(m, t)))
    out = dict(peer)
    if "failed" in peer["blackmarblepy"]:  # nothing to compare with (older runs kept one)
        out.pop("target", None)
        for way in ("download", "auto"):
            out[f"pipeline_{way}"].pop("over_peer_wall", None)
    out["blackmarblepy_each"] = r = peer_run(b, py, script, zones["osm"], "extract-each")
    if "failed" in r:
        return out
    work = b.workdir("work-peer")  # the pipeline's table of the peer section (auto: same)
    out["agreement_each"] = peer_agreement(_stats_table(work), r.get("table"))
    # more rounds, each run in turn (one run of each is a few seconds against the noise of
    # a shared machine): every wall is kept, the ratio is taken between medians
    walls = {"blackmarblepy": [r["wall_s"]]}
    walls |= {way: [out[f"pipeline_{way}"]["wall_s"]] for way in ("download", "auto")}
    for _ in range(1, args.peer_rounds):
        walls["blackmarblepy"].append(
            peer_run(b, py, script, zones["osm"], "extract-each").get("wall_s")
        )
        for way in ("download", "auto"):
            walls[way].append(peer_pipeline_run(b, work, zones, way)["wall_s"])
    if None in walls["blackmarblepy"]:
        return dict(out, rounds={"failed": "a later blackmarblepy round failed", **walls})
    out["rounds"] = walls
    out["finished"] = dt.datetime.now().isoformat(timespec="seconds")
    r["wall_median_s"] = statistics.median(walls["blackmarblepy"])
    for way in ("download", "auto"):
        x = out[f"pipeline_{way}"]
        x["wall_median_s"] = statistics.median(walls[way])
        x["over_peer_each_wall"] = round(x["wall_median_s"] / r["wall_median_s"], 2)
    out["target"] = {
        "target": "pipeline no slower than blackmarblepy (nine SEZs, three months, median "
        "wall of the rounds; blackmarblepy one bm_extract call per tile)",
        "download": out["pipeline_download"]["over_peer_each_wall"],
        "auto": out["pipeline_auto"]["over_peer_each_wall"],
        "met_download": out["pipeline_download"]["over_peer_each_wall"] <= 1.0,
        "met_auto": out["pipeline_auto"]["over_peer_each_wall"] <= 1.0,
    }
    return out


def peer_pipeline_run(b: Bench, work: Path, zones: dict, way: str) -> dict:
    """The pipeline on the peer's work (nine SEZs, :data:`PEER_MONTHS` of Black Marble),
    one way (``blackmarble.read``), from nothing."""
    months = {"start": PEER_MONTHS[0], "end": PEER_MONTHS[-1]}
    return way_run(
        b, work, "blackmarble", "osm", zones["osm"], way,
        months=months, blackmarble={"read": way}, listed=PEER_MONTHS,
    )  # fmt: skip


def peer_run(b: Bench, py: Path, script: Path, zones_path: Path, mode="extract") -> dict:
    """``bm_extract`` in a fresh process (its wall from launch, as the pipeline's);
    ``mode`` ``extract-each``: one call per tile (see ``bench/peer_blackmarblepy.py``)."""
    work = b.data / f"work-peer-blackmarblepy{'-each' if mode != 'extract' else ''}"
    shutil.rmtree(work, ignore_errors=True)
    (work / "out").mkdir(parents=True)
    result = work / "result.json"
    cmd = [str(py), str(script), mode, str(zones_path), b.laads.origin, EARTHDATA_TOKEN]
    cmd += [str(work / "out"), str(result), *PEER_MONTHS]
    env = dict(b.env(), TQDM_DISABLE="1")
    sent0 = b._sent()["blackmarble"]
    n0 = len(b.laads.requests)
    load = Load()
    log(f"peer: blackmarblepy bm_extract ({mode}), nine SEZs x three months")
    with open(work / "peer.out", "w") as f:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=work, env=env, stdout=f, stderr=f)
        sampler = ProcSampler(p.pid)
        try:
            rc = p.wait(timeout=3600)  # its manifest search retries forever on a dead server
        except subprocess.TimeoutExpired:
            p.kill()
            rc = "timeout"
        wall = time.perf_counter() - t0
        sampler.stop()
    if rc != 0:
        tail = "\n".join((work / "peer.out").read_text().splitlines()[-20:])
        peak = round(max((r["hwm"] for r in sampler.procs.values()), default=0) / MB, 1)
        why = "killed by the kernel's OOM killer" if rc == -9 else f"exit {rc}"
        log(f"  failed: {why} after {wall:.1f} s, peak RSS {peak:.0f} MB")
        return {"failed": why, "tail": tail, "wall_s": round(wall, 2), "peak_rss_mb": peak}
    sent = {
        k: v - sent0.get(k, 0) for k, v in b._sent()["blackmarble"].items() if v != sent0.get(k, 0)
    }
    gets = [r for r in b.laads.requests[n0:] if r[0] == "GET"]
    res = json.loads(result.read_text())
    out = {
        "wall_s": round(wall, 2),
        **res,
        "bytes_sent": sum(sent.values()),
        "files_whole": sum(1 for r in gets if r[1].endswith(".h5") and r[2] == 200),
        "api_requests": sum(1 for r in gets if r[1].startswith("/api/")),
        "peak_rss_mb": round(max((r["hwm"] for r in sampler.procs.values()), default=0) / MB, 1),
        "cpu_s_all": round(sum(r.get("cpu_s", 0.0) for r in sampler.procs.values()), 1),
        "disk_gb": round(sum(f.stat().st_size for f in (work / "out").iterdir()) / 1e9, 3),
        "load": load.summary(),
        "at": time.strftime("%H:%M:%S"),
    }
    log(f"  {out['wall_s']} s ({out['bm_extract_s']} s in bm_extract), "
        f"{out['bytes_sent'] / 1e6:.1f} MB, peak {out['peak_rss_mb']:.0f} MB")  # fmt: skip
    return out


def rounds_text(pr: dict) -> str:
    n = len(pr.get("rounds", {}).get("blackmarblepy", [])) or 1
    return "one run each" if n == 1 else f"{n} runs each, in turn (median wall; every run's)"


def _wall(r: dict, walls: list | None) -> str:
    """A run's wall: the median of its rounds, with each round's, or its one run's."""
    if not walls or len(walls) < 2:
        return f"{r['wall_s']:.1f}"
    return f"{r['wall_median_s']:.1f} ({', '.join(f'{w:.1f}' for w in walls)})"


def peer_agreement(pipe: pd.DataFrame, peer_csv: str | None) -> dict:
    """The pipeline's sums against blackmarblepy's (different edge rules: exactextract on
    a mosaic clipped at pixel centres, a tile grid shifted by up to 2^-13 degrees, no
    cloud-free count; see docs/evidence/blackmarblepy.md §4.2): relative differences."""
    if not peer_csv:
        return {}
    peer = pd.read_csv(peer_csv)
    peer["month"] = pd.to_datetime(peer["date"]).dt.strftime("%Y-%m")
    m = pipe.merge(peer, on=["zone_id", "month"], how="inner")
    ok = m["sum"].notna() & m["ntl_sum"].notna() & (m["ntl_sum"].abs() > 0)
    rel = (m.loc[ok, "sum"] - m.loc[ok, "ntl_sum"]).abs() / m.loc[ok, "ntl_sum"].abs()
    return {
        "rows_compared": int(ok.sum()),
        "rows": int(len(m)),
        "sum_rel_diff_median": round(float(rel.median()), 4) if len(rel) else None,
        "sum_rel_diff_max": round(float(rel.max()), 4) if len(rel) else None,
    }


# ---------------------------------------------------------------------------- verdicts


def requirements(res: dict) -> list[dict]:
    out = []

    def add(name, value, limit, ok, unit=""):
        out.append(
            {"requirement": name, "measured": value, "limit": limit, "unit": unit, "met": ok}
        )

    best = res.get("stats", {}).get("best")
    limit = REQUIRED["stats_over_floor"]
    if best:
        v = best["stats_over_floor_2cores"]
        add("stats job <= 1.3 x floor/2 (best to best)", v, limit, v <= limit, "x")
        v = best["stats_over_isal_two_processes"]
        add("stats job <= 1.3 x ISA-L in two processes (best to best)", v, limit, v <= limit, "x")
    st = res.get("stats", {}).get("summary", {})
    for key in [k for k in st if k.endswith(("downloaded", "from_scratch"))]:
        r = st[key].get("stats_over_floor_2cores")
        if r is not None:
            add(f"stats job <= 1.3 x floor/2 ({key.replace('_', ' ')} run)", r, limit,
                r <= limit, "x")  # fmt: skip
    for key, r in res.get("index", {}).items():
        if "/" not in key:
            continue  # "load"
        source, zones = key.split("/")
        if zones == "big":
            add(f"index {source} 20x20 zone time", r["job_s"], REQUIRED["index_big_s"],
                r["job_s"] < REQUIRED["index_big_s"], "s")  # fmt: skip
            add(f"index {source} 20x20 zone peak RSS", r["peak_rss_mb"], REQUIRED["index_big_mb"],
                r["peak_rss_mb"] < REQUIRED["index_big_mb"], "MB")  # fmt: skip
        else:
            add(f"index {source} {r['zones']:,} zones time", r["job_s"], REQUIRED["index_sez_s"],
                r["job_s"] < REQUIRED["index_sez_s"], "s")  # fmt: skip
    red = res.get("reduce")
    if red:
        v = red["coverage_s"]
        limit = REQUIRED["reduce_s"]
        add(f"reduce {red['zones']:,} zones", v, limit, v < limit, "s")
    for rule, j in res.get("memory", {}).get("jobs", {}).items():
        add(
            f"declared mem_mb >= measured: {rule}",
            j["job_peak_rss_mb"],
            j["declared_mem_mb"],
            j["declared_mem_mb"] >= j["job_peak_rss_mb"],
            "MB",
        )
    return out


# ---------------------------------------------------------------------------- tables


def _f(v, fmt="{:.2f}"):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return fmt.format(v) if isinstance(v, (int, float)) else str(v)


def markdown(res: dict) -> str:
    meta = res.get("meta", {})
    lines = [
        f"Benchmark of {meta.get('finished', '?')} ({meta.get('mode', '?')} mode, "
        f'{meta.get("pixel_arcsec", "?")}" pixels, month {MONTH}): {meta.get("cpus")} cores, '
        f"{meta.get('mem_gb')} GB RAM, shared with other users (see 'load'); whole benchmark "
        f"{_f(meta.get('total_wall_s'), '{:.0f}')} s.",
        "",
    ]
    data = res.get("data", {})
    floor = res.get("floor")
    if data.get("eog"):
        e = data["eog"]
        lines.append(
            f"EOG: six tiles {e['shapes']['75N180W'][1]} x {e['shapes']['75N180W'][0]}/"
            f"{e['shapes']['00N180W'][0]}, {e['archive_bytes'] / 1e9:.2f} GB of archives "
            "(radiance, cf_cvg and cvg members, EOG's naming variants)"
            + (f", {floor['unpacked_gb']} GB unpacked." if floor else ".")
        )
    if floor:
        lines += [
            "",
            f"Decompression floor (all six archives, one core, best of "
            f"{len(floor['passes'])} passes at {', '.join(p['at'] for p in floor['passes'])}, "
            f"gzip {floor.get('gzip_passes', len(floor['passes']))} of them): "
            f"ISA-L {floor['isal']} s (CPU {floor['isal_cpu_s']} s), zlib-ng "
            f"{floor['zlib-ng']} s, gzip {floor['gzip']} s; floor/2 = fastest / 2 = "
            f"{floor['fastest_over_two_cores']} s; ISA-L in two processes "
            f"{floor['isal_two_processes']} s.",
        ]
    st = res.get("stats")
    if st:
        lines += [
            "",
            "### 1. The stats job on one month (coverage weighting unless said)",
            "",
            "| run | wall (s) | stats job (s) | CPU (s) | / (floor/2) | CPU / ISA-L CPU "
            "| stats job peak RSS (MB) | index job (s) | peak extra disk (GB) | naive (s) "
            "| speed-up (run / job) | memory ratio |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for key, s in st["summary"].items():
            n, how = key.split("_", 1)
            label = f"{int(n):,} zones, " + {
                "from_scratch": "from nothing (downloads)",
                "downloaded": "tiles downloaded",
                "all_touched": "all_touched",
            }.get(how, how)
            sp = (
                f"{s['speedup_vs_naive_run']}x / {s['speedup_vs_naive_stats_job']}x"
                if "naive_s" in s
                else ""
            )
            cells = [
                label,
                _f(s["run_wall_s"], "{:.1f}"),
                _f(s["stats_job_s"]),
                _f(s["stats_job_cpu_s"], "{:.1f}"),
                _f(s.get("stats_over_floor_2cores")),
                _f(s.get("stats_cpu_over_isal_cpu")),
                _f(s["stats_job_peak_rss_mb"], "{:.0f}"),
                _f(s["index_job_s"]),
                _f(s["disk_extra_gb"], "{:.3f}"),
                _f(s.get("naive_s"), "{:.1f}"),
                sp,
                _f(s.get("memory_ratio_vs_naive"), "{:.0f}x"),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines += [
            "",
            "wall: the whole `snakemake` run; stats job: `compute_zone_stats` (benchmark file); "
            "CPU and peak RSS: its Python process (/proc); floor/2: the fastest one-core "
            "decompression of the six archives split over the job's two cores; CPU / ISA-L "
            "CPU: the job's CPU time over ISA-L's to decompress the same archives (less "
            "sensitive to other users' load than wall times); speed-up: "
            "naive time over the run's wall and over the stats job; memory ratio: naive peak "
            "RSS over the run's largest job.",
        ]
        if st.get("rounds"):
            lines += [
                "",
                "Rounds (10,000 zones, coverage): the floor, then the stats job alone "
                "(`--forcerun compute_zone_stats`), in turn:",
                "",
                "| round | stats job (s) | its CPU (s) | floor, one core (s) | ISA-L, two "
                "processes (s) | job / (floor/2) | job / ISA-L two processes | load average |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            ]
            for i, r in enumerate(st["rounds"], 1):
                lines.append(
                    f"| {i} | {r['stats_job']['wall_s']} | {_f(r['stats_job']['cpu_s'], '{:.1f}')}"
                    f" | {r['floor_one_core_s']} | {r['isal_two_processes_s']} "
                    f"| {r['stats_over_floor_2cores']} | {r['stats_over_isal_two_processes']} "
                    f"| {r['load']['loadavg'][0]} |"
                )
            bb = st["best"]
            lines.append(
                f"\nBest to best: stats job {bb['stats_job_s']} s, floor/2 "
                f"{bb['floor_over_two_cores_s']} s ({bb['stats_over_floor_2cores']}x); ISA-L in "
                f"two processes {bb['isal_two_processes_s']} s "
                f"({bb['stats_over_isal_two_processes']}x)."
            )
        nv = st.get("naive", {})
        if "stages_s" in nv:
            g = nv["stages_s"]
            lines.append(
                f"Naive path: unpack {g['unpack_s']:.0f} s, merge "
                f"{g['merge_avg_rade9h_s'] + g['merge_cf_cvg_s']:.0f} s, rasterstats "
                + ", ".join(
                    f"{v['rasterstats_ms_per_zone']} ms/zone ({v['zones']:,} zones)"
                    for v in nv["per_zone_set"].values()
                )
                + f"; peak RSS {nv['peak_rss_mb']:.0f} MB, extra disk {nv['disk_extra_gb']} GB."
            )
        elif nv:
            lines.append(f"Naive path: {nv.get('skipped') or nv.get('failed')}.")
        for stem, ag in st.get("agreement", {}).items():
            p, s, mm = ag["pixels"], ag["sum"], ag["count_mismatches"]
            lines.append(
                f"Agreement ({stem}, pipeline all_touched vs rasterstats all_touched, "
                f"{ag['zones']:,} zones): pixel counts equal in {p['equal']:,}/{p['compared']:,} "
                f"zones (max diff {p['max_abs_diff']:g}; of the {mm['zones']} others, "
                f"{mm['explained_by_slivers']} differ only by pixels the zone covers by less "
                f"than {index.MIN_FRACTION:g} of their area, which the index drops); where the "
                f"counts agree: sums within 1e-6 relative in {s['equal']:,}/{s['compared']:,} "
                f"zones (max abs diff {s['max_abs_diff']:.3g}, rel {s['max_rel_diff']:.2g}), "
                f"cf_cvg mean/min max diff {ag['cf_cvg_mean']['max_abs_diff']:.3g}/"
                f"{ag['cf_cvg_min']['max_abs_diff']:g}, mean/min/max (fully observed zones) "
                f"max diff {ag['mean']['max_abs_diff']:.3g}/{ag['min']['max_abs_diff']:.3g}/"
                f"{ag['max']['max_abs_diff']:.3g}; {s['missing_one_side']} zones without a "
                "cloud-free pixel have empty radiance statistics in the pipeline's table and 0 "
                "in rasterstats' (EOG writes radiance 0 where cf_cvg is 0)."
            )
    ix = res.get("index")
    if ix:
        lines += [
            "",
            "### 2. Pixel index with coverage fractions (fresh process each)",
            "",
            "| lattice | zones | pixels | index entries | read zones (s) | build (s) | save (s) "
            "| read + build + save (s) | its CPU (s) | peak RSS (MB) |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for key, r in ix.items():
            if "/" not in key:
                continue
            source, z = key.split("/")
            label = "one 20 x 20 degree zone" if z == "big" else f"{r['zones']:,} SEZ-sized"
            lines.append(
                f"| {source} | {label} | {r['pixels']:,} | {r['entries']:,} | {r['read_s']} "
                f"| {r['build_s']} | {r['save_s']} | {r['job_s']} | {r.get('job_cpu_s', '')} "
                f"| {r['peak_rss_mb']:.0f} |"
            )
    red = res.get("reduce")
    if red:
        lines += [
            "",
            "### 3. Per-month reduction (`zonal.reduce`, given gathered values, best of 3)",
            "",
            f"{red['zones']:,} zones, {red['pixels']:,} pixels ({red['entries']:,} runs): "
            f"coverage {red['coverage_s']} s, all_touched {red['all_touched_s']} s"
            + (
                f"; inside the {red['zones']:,}-zone stats job (real values): "
                f"{red['in_stats_job_s']} s."
                if red.get("in_stats_job_s") is not None
                else "."
            ),
        ]
    mem = res.get("memory")
    if mem:
        inp = mem["inputs"]
        g = inp["zones_summary"]["grids"]["eog"]
        lines += [
            "",
            "### 4. Memory per job: a 20 x 20 degree zone plus "
            f"{inp['zones_summary']['zones'] - 1:,} SEZs (one month, whole workflow)",
            "",
            f"Index: {inp['index_summary']['pixels']:,} pixels, largest window "
            f"{g['largest_window_pixels']:,} pixels; {inp['zones_shown']} zones shown; table "
            f"{inp['table_mb']} MB. Run wall {mem['run']['wall_s']} s; stats job "
            f"{_f(mem['stats_job'].get('wall_s'))} s (gather {mem['stats_job'].get('gather_s')} s, "
            f"reduce {mem['stats_job'].get('reduce_s')} s).",
            "",
            "| job | wall (s) | peak RSS (MB) | + a job-level Snakemake (MB) "
            "| benchmark file max_rss (MB) | declared mem_mb | declared / measured |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for rule, j in mem["jobs"].items():
            lines.append(
                f"| {rule} | {_f(j['wall_s'], '{:.1f}')} | {j['job_peak_rss_mb']:.0f} "
                f"| {j['with_job_snakemake_mb']:.0f} | {_f(j['bench_max_rss_mb'], '{:.0f}')} "
                f"| {j['declared_mem_mb']} | {_f(j['headroom'])} "
                f"({_f(j['headroom_cluster'])}) |"
            )
        lines += [
            "",
            "peak RSS: the job's Python process and its workers (VmHWM from /proc, summed over "
            "the job's processes); + a job-level Snakemake: what the job holds on a cluster, "
            "where each job runs inside its own Snakemake process (estimated by this run's "
            f"main Snakemake process, {mem['run']['snakemake_main_peak_rss_mb']:.0f} MB); "
            "benchmark file: Snakemake's own sampling (every 0.5 s for 15 s, then every 30 "
            "s); declared / measured: local (cluster).",
        ]
    co = res.get("coefficients", {})
    if co.get("stats") or co.get("index"):
        lines += ["", "Memory per unit, measured (slope between a small and a large case):"]
        c = co.get("stats")
        if c:
            lines.append(
                f"stats job {c['measured_mb_per_pixel'] * 1e6:.0f} bytes per indexed pixel "
                f"(intercept {c['intercept_mb']:.0f} MB; {c['pixels'][0]:,} px -> "
                f"{c['peak_mb'][0]:.0f} MB, {c['pixels'][1]:,} px -> {c['peak_mb'][1]:.0f} MB); "
                f"sezlights.memory.STATS_MB_PER_PIXEL is {c['current_mb_per_pixel']}."
            )
        c = co.get("index")
        if c:
            lines.append(
                f"index job {c['measured_mb_per_window_pixel'] * 1e6:.1f} bytes per pixel of the "
                f"largest zone's window ({c['window_pixels'][1]:,} px -> {c['peak_mb'][1]:.0f} "
                f"MB); sezlights.memory.INDEX_MB_PER_WINDOW_PIXEL is "
                f"{c['current_mb_per_window_pixel']}."
            )
    src = res.get("sources")
    if src and "eog" in src:
        bmf = src["blackmarble_files"]
        lines += [
            "",
            "### 5. Black Marble vs EOG: the nine real SEZ outlines, one month, from nothing",
            "",
            "| source | files downloaded | MB downloaded | wall (s) | download jobs (s, sum) "
            "| stats job (s) | peak job RSS (MB) | largest job | peak RSS, all processes (MB) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
        ]
        for source in ("eog", "blackmarble"):
            s = src[source]
            dl = s["run"]["rules"].get("download_file", {}).get("wall_s_sum")
            lines.append(
                f"| {source} | {s['files_downloaded']} | {s['bytes_downloaded'] / 1e6:,.1f} "
                f"| {s['wall_s']:.1f} | {_f(dl, '{:.1f}')} | {_f(s['stats_job']['wall_s'])} "
                f"| {s['peak_job_rss_mb']:.0f} | {s['peak_job']} "
                f"| {_f(s.get('run_peak_rss_mb'), '{:.0f}')} |"
            )
        lines.append(
            f"Black Marble tiles served: {', '.join(bmf['tiles'])} "
            f"({bmf['shape'][0]} x {bmf['shape'][1]} each)."
        )
    req = res.get("requirements")
    if req:
        lines += ["", "### Requirements", "", "| requirement | measured | limit | met |"]
        lines.append("| --- | ---: | ---: | --- |")
        for r in req:
            lines.append(
                f"| {r['requirement']} | {_f(r['measured'])} {r['unit']} | {r['limit']} "
                f"{r['unit']} | {'yes' if r['met'] else '**no**'} |"
            )
    loads = [(k, v["load"]) for k, v in res.items() if isinstance(v, dict) and "load" in v]
    if loads:
        lines += [
            "",
            "Load from other users per section (mean cores busy with other processes; load "
            "average at start/end): "
            + "; ".join(
                f"{k} {v['other_cores_mean']} ({v['loadavg_start'][0]}/{v['loadavg_end'][0]})"
                for k, v in loads
            )
            + ".",
        ]
    return "\n".join(lines)


def _zone_label(zkey: str) -> str:
    if zkey == "osm":
        return "nine SEZs"
    return f"{int(zkey.split('-')[1]):,} zones"


def _mb(n) -> str:
    if n is None:
        return ""
    return f"{n / 1e6:,.3f}" if n < 1e7 else f"{n / 1e6:,.0f}"


def markdown_window(res: dict) -> str:
    """The tables of the ``window`` and ``peer`` sections."""
    meta = res.get("meta", {})
    lines = []
    w = res.get("window")
    if w:
        parts = w.get("parts") or [{k: w[k] for k in ("started", "finished", "load")}]
        when = "; ".join(
            f"{p['started']} to {p['finished'][11:]}: load average "
            f"{p['load']['loadavg_start'][0]} at the start, {p['load']['loadavg_end'][0]} at "
            f"the end, other processes kept {p['load']['other_cores_mean']} cores busy"
            for p in parts
        )
        lines += [
            f"Bytes each way, one month ({w['month']}), full-size files served on 127.0.0.1 "
            f'({meta.get("pixel_arcsec")}" pixels; {meta.get("cpus")} cores and '
            f"{meta.get('mem_gb')} GB RAM shared with other users; run in {len(parts)} "
            f"part(s): {when}).",
            "",
        ]
        lf = w.get("len_files")
        if lf:
            f = lf["files"]["avg_rade9"]
            lines.append(
                f"Light Every Night: two global COGs of {f['shape'][1]} x {f['shape'][0]} "
                f"pixels ({f['block'][0]} x {f['block'][1]} internal tiles, "
                f"{f['compress']}, {len(f['overviews'])} overviews): radiance "
                f"{lf['files']['avg_rade9']['bytes'] / 1e9:.2f} GB, cloud-free nights "
                f"{lf['files']['n_cf']['bytes'] / 1e9:.2f} GB."
            )
        bf = w.get("blackmarble_files")
        if bf:
            lines.append(
                f"Black Marble: {len(bf['tiles'])} VNP46A3 tiles of {bf['shape'][0]} x "
                f"{bf['shape'][1]} pixels ({bf['bytes'] / 1e9:.1f} GB), 2-D datasets chunked "
                "600 x 600 and gzipped as the stand-in writes them (real files' chunking is "
                "not known)."
            )
        ef = w.get("eog_notile_files")
        if ef:
            rad, cf = ef["files"]["avg_rade9h"], ef["files"]["cf_cvg"]
            lines.append(
                f"EOG untiled: two global GeoTIFFs of {rad['shape'][1]} x {rad['shape'][0]} "
                f"pixels ({rad['block'][0]} x {rad['block'][1]} internal tiles, "
                f"{rad['compress']}, {len(rad['overviews']) or 'no'} overviews): "
                f"radiance {rad['bytes'] / 1e9:.2f} GB, "
                f"cloud-free coverage {cf['bytes'] / 1e9:.2f} GB; the tiled archives of the "
                "same month (six `.tgz` of 1.0-1.2 GB) beside them."
            )
        lines += [
            "",
            "| source | zones | way | MB sent | whole files | ranged GETs | listing's estimate "
            "by window / whole (MB) | read as | wall (s) | stats job (s) | peak job RSS (MB) "
            "| same statistics as whole |",
            "| --- | --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- |",
        ]
        for key, runs in w["runs"].items():
            source, zkey = key.split("/")
            for way, r in runs.items():
                if way == "ratios":
                    continue
                name = f"eog ({way})" if source == "eog" else source
                if "skipped" in r:
                    lines.append(
                        f"| {name} | {_zone_label(zkey)} | | | | | | {r['skipped']} | | | | |"
                    )
                    continue
                m = r["manifest"]
                est = (
                    f"{_mb(m['est_window'])} / {_mb(m['est_whole'])}"
                    if m["estimated"]
                    else f"- / {_mb(m['est_whole'])}"
                )
                same = next(iter(r.get("same_statistics_as", {}).values()), None)
                same = "" if same is None else ("yes" if same["equal"] else "**no**")
                reads = ", ".join(f"{k} {v}" for k, v in sorted(m["reads"].items()))
                lines.append(
                    f"| {name} | {_zone_label(zkey)} | {'whole' if way == 'download' else way} "
                    f"| {_mb(r['bytes_sent'])} | {r['files_whole']} | {r['ranged_gets']:,} | {est} "
                    f"| {reads} | {r['wall_s']:.1f} | {_f(r['stats_job_s'], '{:.1f}')} "
                    f"| {r['peak_job_rss_mb']:.0f} | {same} |"
                )
        lines += [
            "",
            "MB sent: the body bytes the stand-in sent during the run (its own count, "
            "listings, headers read to decide and every range included: the truth); the "
            "listing's estimate: what `list_month_files` wrote in the manifest (by window: "
            "headers or metadata plus the blocks or chunks holding zone pixels, plus 2 kB a "
            "request; whole: the files' sizes); wall: the whole `snakemake` run from nothing "
            "(zones, index, listing, downloads, statistics, table); peak job RSS: the largest "
            "job's processes (/proc). EOG's ways are its layouts (`eog.layout`): whole = "
            "the tiled archives (`tiles`), window = the untiled global GeoTIFFs (`notile`).",
            "",
            "| source | zones | whole (MB) | window (MB) | auto (MB) | window / whole "
            "| auto / cheaper | auto read | wall window / whole | wall auto / cheaper way |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
        ]
        for key, runs in w["runs"].items():
            source, zkey = key.split("/")
            r = runs.get("ratios")
            if not r:
                continue
            whole, win, auto = (runs[w] for w in (EOG_WAYS if source == "eog" else WAYS))
            lines.append(
                f"| {source} | {_zone_label(zkey)} | {_mb(whole['bytes_sent'])} "
                f"| {_mb(win['bytes_sent'])} | {_mb(auto['bytes_sent'])} "
                f"| {r['window_over_whole']:.4f} | {r['auto_over_cheaper']:.3f} "
                f"| {', '.join(f'{k} {v}' for k, v in sorted(r['auto_took'].items()))} "
                f"| {r['wall_window_over_whole']} | {r['wall_auto_over_cheaper_way']} |"
            )
        if w.get("targets"):
            lines += [
                "",
                "| target (issue 19) | measured | limit | met |",
                "| --- | ---: | ---: | --- |",
            ]
            for t in w["targets"]:
                lines.append(
                    f"| {t['target']} | {t['measured']} | {t['limit']} "
                    f"| {'yes' if t['met'] else '**no**'} |"
                )
    pr = res.get("peer")
    if pr and "skipped" not in pr:
        bp = pr["blackmarblepy"]
        lines += [
            "",
            f"Black Marble against blackmarblepy {pr['peer_version']} (`bm_extract`), nine SEZs "
            f"x {len(pr['months'])} months ({pr['months'][0]}..{pr['months'][-1]}), "
            f"{pr['files']} full-size VNP46A3 files ({pr['file_bytes'] / 1e6:,.0f} MB) served "
            f"by the LAADS stand-in (its archive for the pipeline, its `/api/v2/content/"
            f"details` search for blackmarblepy); {rounds_text(pr)}, from nothing, "
            f"{pr['started']} to {pr['finished']} (load average "
            f"{pr['load']['loadavg_start'][0]} / {pr['load']['loadavg_end'][0]}):",
            "",
            "| run | wall (s) | / blackmarblepy | MB sent | whole files | CPU, all processes (s) "
            "| peak RSS (MB) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        each = pr.get("blackmarblepy_each")
        ratio_key = "over_peer_each_wall" if each and "failed" not in each else "over_peer_wall"
        ref = each if ratio_key == "over_peer_each_wall" else bp
        for name, r in (("one call, nine zones", bp), ("one call per tile", each)):
            if not r:
                continue
            if "failed" in r:
                lines.append(
                    f"| blackmarblepy `bm_extract`, {name}: **{r['failed']}** after "
                    f"{r['wall_s']:.0f} s at {r.get('peak_rss_mb', 0):,.0f} MB | | | | | | |"
                )
                continue
            lines.append(
                f"| blackmarblepy `bm_extract`, {name} (in `bm_extract`: {r['bm_extract_s']} s) "
                f"| {_wall(r, pr.get('rounds', {}).get('blackmarblepy'))} "
                f"| {'1' if r is ref else ''}"
                f" | {_mb(r['bytes_sent'])} | {r['files_whole']} "
                f"| {r['cpu_s_all']} | {r['peak_rss_mb']:.0f} |"
            )
        for way in ("download", "auto"):
            r = pr[f"pipeline_{way}"]
            label = "whole files" if way == "download" else "`blackmarble.read: auto`"
            lines.append(
                f"| pipeline, {label} | {_wall(r, pr.get('rounds', {}).get(way))} "
                f"| {_f(r.get(ratio_key))} "
                f"| {_mb(r['bytes_sent'])} | {r['files_whole']} | {r['cpu_s_all']} "
                f"| {r['run_peak_rss_mb']:.0f} |"
            )
        ag = pr.get("agreement_each") or pr.get("agreement") or {}
        if ag.get("rows_compared"):
            lines.append(
                f"\nSums, pipeline (whole files) against blackmarblepy, {ag['rows_compared']} "
                f"zone-months: median relative difference {ag['sum_rel_diff_median']:.2%}, "
                f"largest {ag['sum_rel_diff_max']:.2%} (different edge rules, see "
                "docs/evidence/blackmarblepy.md §4.2)."
            )
    elif pr:
        lines += ["", f"Peer: {pr['skipped']}"]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- main


def snakemake_import_s() -> float:
    """How long ``import snakemake.cli`` takes here: every run's start pays it. With
    snakemake-executor-plugin-slurm installed, Snakemake imports it and it asks
    ``scontrol show config`` (10 s timeout) wherever ``sinfo`` is on the PATH: a machine
    with Slurm installed but its controller down adds about 10 s to every run (start it:
    .ci/slurm-up.sh)."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import snakemake.cli"], check=True)
    took = round(time.perf_counter() - t0, 2)
    if took > 5:
        log(f"WARNING: importing snakemake takes {took} s here (a Slurm controller that "
            "does not answer?): every run's wall includes it")  # fmt: skip
    return took


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="reduced sizes, to check the code")
    ap.add_argument("--data", type=Path, default=REPO / "bench-data")
    ap.add_argument("--out", type=Path, help="default: bench/results.json (quick: in --data)")
    default = ",".join(s for s in SECTIONS if s != "peer-each")
    ap.add_argument("--sections", default=default, help=",".join(SECTIONS))
    ap.add_argument("--sez-dir", type=Path, default=REPO.parent / "shared/data/sez-osm")
    ap.add_argument("--rounds", type=int, help="floor/stats job rounds (default 3, quick 1)")
    ap.add_argument("--skip-naive", action="store_true")
    ap.add_argument("--force-naive", action="store_true", help="even with little free RAM")
    ap.add_argument("--table", nargs="?", const="", help="print the tables of a results file")
    ap.add_argument(
        "--window-sources", default="len,blackmarble,eog", help="window: sources to run"
    )
    ap.add_argument("--window-zones", help="window: zone sets to run (osm,sez-1000,sez-10000)")
    ap.add_argument(
        "--peer-python",
        help="peer: the Python of a virtual environment with blackmarblepy==2026.6.1 "
        "(default: <data>/bmpy/bin/python)",
    )
    ap.add_argument(
        "--peer-rounds",
        type=int,
        default=3,
        help="peer-each: runs of blackmarblepy and of the pipeline (each way), in turn",
    )
    ap.add_argument(
        "--peer-skip-one-call",
        action="store_true",
        help="peer: keep a failed earlier bm_extract over all zones at once (out of memory "
        "at full size) instead of running it again",
    )
    ap.add_argument("--index-worker", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.index_worker:
        index_worker(*args.index_worker)
        return 0
    mode_name = "quick" if args.quick else "full"
    data = (args.data / mode_name).resolve()
    out_path = args.out or (
        data / "results.json" if args.quick else REPO / "bench" / "results.json"
    )
    win_path = out_path.with_name(f"{out_path.stem}-window.json")
    args.peer_python = args.peer_python or str(args.data / "bmpy" / "bin" / "python")
    if args.table is not None:
        shown = json.loads(Path(args.table or out_path).read_text())
        print(markdown_window(shown) if "window" in shown or "peer" in shown else markdown(shown))
        return 0
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown sections {sorted(unknown)}; choose from {','.join(SECTIONS)}")
    mode = dict(SIZES[mode_name])
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    data.mkdir(parents=True, exist_ok=True)
    res: dict = json.loads(out_path.read_text()) if out_path.exists() else {}
    if res.get("meta", {}).get("mode") != mode_name:
        res = {}  # another mode's results, or the old benchmark's
    resw: dict = json.loads(win_path.read_text()) if win_path.exists() else {}
    if resw.get("meta", {}).get("mode") != mode_name:
        resw = {}
    t_start = time.perf_counter()
    res["meta"] = {
        "mode": mode_name,
        "pixel_arcsec": mode["pixel_arcsec"],
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        "sections_run": sections,
        "cpus": os.cpu_count(),
        "mem_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
    log(f"benchmark ({mode_name}): data under {data}, results to {out_path}")
    res["meta"]["snakemake_import_s"] = snakemake_import_s()
    load = Load()
    zones = write_zone_files(data / "zones", mode, args.sez_dir)
    eog_root = data / "eog"
    # EOG's archives (4.7 GB full-size) only where a section reads them
    needs_eog = any(s not in WINDOW_SECTIONS for s in sections) or (
        "window" in sections and "eog" in args.window_sources.split(",")
    )
    if needs_eog:
        eog = eog_archives(eog_root / SERVER_PATH, mode["pixel_arcsec"])
        res.setdefault("data", {})["eog"] = eog
        res["data"]["eog"]["load"] = load.summary()
        archives = res["data"]["eog"]["archives"]
    (eog_root / SERVER_PATH).mkdir(parents=True, exist_ok=True)
    (data / "laads").mkdir(exist_ok=True)

    (data / "len").mkdir(exist_ok=True)

    from sezlights_standin.eog import EOGServer
    from sezlights_standin.laads import LAADSServer
    from sezlights_standin.s3bucket import S3BucketServer

    eog_srv = EOGServer(eog_root, users={USER: PASSWORD}, clients={CLIENT_ID: CLIENT_SECRET})
    laads_srv = LAADSServer(data / "laads", token=EARTHDATA_TOKEN)
    bucket_srv = S3BucketServer(data / "len")
    resw["meta"] = dict(res["meta"], sections_run=[s for s in sections if s in WINDOW_SECTIONS])
    res["meta"]["sections_run"] = [s for s in sections if s not in WINDOW_SECTIONS]
    with eog_srv, laads_srv, bucket_srv:
        b = Bench(data, mode, eog_srv, laads_srv, bucket_srv)
        for name in SECTIONS:
            if name not in sections:
                continue
            load = Load()
            log(f"== {name}")
            if name in WINDOW_SECTIONS:
                started = dt.datetime.now().isoformat(timespec="seconds")
                section = section_window if name == "window" else section_peer
                if name == "peer-each":
                    resw["peer"] = section_peer_each(b, zones, args, resw.get("peer", {}))
                    win_path.write_text(json.dumps(resw, indent=2, default=str))
                    continue
                args.previous_peer = resw.get("peer")
                part = section(b, zones, args)
                part.update(started=started, load=load.summary())
                part["finished"] = dt.datetime.now().isoformat(timespec="seconds")
                resw[name] = merge_parts(resw.get(name), part) if name == "window" else part
                win_path.write_text(json.dumps(resw, indent=2, default=str))
                continue
            if name == "floor":
                res["floor"] = floor_summary([floor_pass(archives)])
            elif name == "stats":
                floor_too = "floor" in sections  # more floor passes, between stats jobs
                res["stats"] = section_stats(b, zones, archives, res, floor_too, args)
            elif name == "index":
                res["index"] = section_index(b, zones)
            elif name == "reduce":
                res["reduce"] = section_reduce(b, zones, res.get("stats"))
            elif name == "memory":
                res["memory"] = section_memory(b, zones)
            elif name == "sources":
                res["sources"] = section_sources(b, zones)
            res[name]["load"] = load.summary()
            res["requirements"] = requirements(res)
            out_path.write_text(json.dumps(res, indent=2, default=str))
    total = round(time.perf_counter() - t_start, 1)
    finished = dt.datetime.now().isoformat(timespec="seconds")
    if res["meta"]["sections_run"]:
        res["coefficients"] = coefficients(res)
        res["meta"].update(total_wall_s=total, finished=finished)
        res["requirements"] = requirements(res)
        out_path.write_text(json.dumps(res, indent=2, default=str))
        print(markdown(res))
        log(f"results in {out_path}")
    if resw["meta"]["sections_run"]:
        resw["meta"].update(total_wall_s=total, finished=finished)
        win_path.write_text(json.dumps(resw, indent=2, default=str))
        print(markdown_window(resw))
        log(f"results in {win_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
