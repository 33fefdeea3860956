import logging
import time
from pathlib import Path

from sezlights.cli import run_step
from sezlights.stats import write_csv
from sezlights.zonal import gather, load_index, reduce


def main():
    log = logging.getLogger("sezlights.stats")
    month = snakemake.wildcards.month
    index = load_index(snakemake.input.index)
    scratch = Path(snakemake.params.scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    values = gather(index, list(snakemake.input.archives), scratch, threads=snakemake.threads)
    t1 = time.perf_counter()
    df = reduce(index, values, month)
    t2 = time.perf_counter()
    write_csv(df, snakemake.output.stats)
    log.info(
        "%s: %d zones, %d pixels; gather %.2f s (%d archives, %d threads), reduce %.3f s",
        month,
        len(df),
        index["row"].size,
        t1 - t0,
        len(snakemake.input.archives),
        snakemake.threads,
        t2 - t1,
    )


run_step(snakemake, main)
