from pathlib import Path

import pandas as pd

from sezlights import labels, plots, table
from sezlights.job import run_step


def main():
    shown = pd.read_csv(snakemake.input.shown, dtype={"zone_id": str}, keep_default_na=False)
    ids = list(shown.zone_id)
    out = Path(snakemake.output.figures)
    plots.timeseries_figures(table.read(snakemake.input.table), out, ids, workers=snakemake.threads)
    # the report labels each figure with the id as it is (labels.figure_labels)
    labels.write_stems(out, ids)


run_step(snakemake, main)
