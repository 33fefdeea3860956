from pathlib import Path

from sezlights.cli import run_step
from sezlights.stats import write_csv
from sezlights.zonal import gather, load_index, reduce


def main():
    index = load_index(snakemake.input.index)
    scratch = Path(snakemake.params.scratch) / snakemake.wildcards.month
    scratch.mkdir(parents=True, exist_ok=True)
    values = gather(index, list(snakemake.input.archives), scratch)
    write_csv(reduce(index, values, snakemake.wildcards.month), snakemake.output.stats)


run_step(snakemake, main)
