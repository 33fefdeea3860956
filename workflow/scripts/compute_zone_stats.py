import json
import logging
import time

from sezlights import index, sources, table, zonal
from sezlights.job import run_step


def main():
    w, p = snakemake.wildcards, snakemake.params
    src = sources.get(w.source, snakemake.config)
    idx = index.load(snakemake.input.index)
    index.check_lattice(idx, src.tiles.lattice, snakemake.input.index)
    with open(snakemake.input.manifest) as f:
        satellite = json.load(f)["satellite"]
    files = list(snakemake.input.files)
    t0 = time.perf_counter()
    values = zonal.gather(idx, files, src, p.scratch, threads=snakemake.threads)
    t1 = time.perf_counter()
    df = zonal.reduce(idx, values, w.month, w.source, satellite, p.weighting, p.min_cloud_free)
    t2 = time.perf_counter()
    table.write(df, snakemake.output.stats)
    logging.getLogger("sezlights.stats").info(
        "%s %s: %d zones, %d pixels; gather %.2f s (%d files, %d threads), reduce %.3f s",
        w.source,
        w.month,
        len(df),
        int(idx["length"].sum()),
        t1 - t0,
        len(files),
        snakemake.threads,
        t2 - t1,
    )


run_step(snakemake, main)
