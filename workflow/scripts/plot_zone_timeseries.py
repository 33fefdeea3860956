import pandas as pd

from sezlights.cli import run_step
from sezlights.plots import timeseries_figures


def main():
    table = pd.read_csv(snakemake.input.table, dtype={"zone_id": str, "month": str})
    shown = pd.read_csv(snakemake.input.shown, dtype={"zone_id": str})
    timeseries_figures(table, snakemake.output.figures, list(shown.zone_id))


run_step(snakemake, main)
