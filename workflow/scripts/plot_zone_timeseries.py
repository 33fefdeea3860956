import pandas as pd

from sezlights.cli import run_step
from sezlights.plots import timeseries_figures


def main():
    table = pd.read_csv(snakemake.input.table, dtype={"zone_id": str, "month": str})
    timeseries_figures(table, snakemake.output.figures)


run_step(snakemake, main)
