import pandas as pd

from sezlights.cli import run_step
from sezlights.plots import choose_zones
from sezlights.stats import write_csv


def main():
    table = pd.read_csv(snakemake.input.table, dtype={"zone_id": str, "month": str})
    shown = choose_zones(table, snakemake.params.zones, snakemake.params.max_zones)
    write_csv(shown, snakemake.output.shown)


run_step(snakemake, main)
