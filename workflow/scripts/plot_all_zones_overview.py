import pandas as pd

from sezlights.cli import run_step
from sezlights.plots import overview_figure


def main():
    table = pd.read_csv(snakemake.input.table, dtype={"zone_id": str, "month": str})
    overview_figure(table, snakemake.output.figure)


run_step(snakemake, main)
