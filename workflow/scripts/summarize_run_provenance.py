import pandas as pd

from sezlights.atomic import write_text
from sezlights.cli import run_step
from sezlights.plots import provenance_table, run_summary_html
from sezlights.stats import write_csv


def main():
    tiles = provenance_table(list(snakemake.input.manifests))
    write_csv(tiles, snakemake.output.tiles)
    shown = pd.read_csv(snakemake.input.shown, dtype={"zone_id": str})
    html = run_summary_html(
        snakemake.input.zones_summary,
        snakemake.config,
        snakemake.params.months,
        tiles,
        shown,
    )
    write_text(snakemake.output.summary, html)


run_step(snakemake, main)
