from sezlights import plots, table
from sezlights.job import run_step


def main():
    df = table.zones_only(table.read(snakemake.input.table))  # zones, not their rings
    plots.source_scatter(df, snakemake.output.figure)


run_step(snakemake, main)
