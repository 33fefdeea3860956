from sezlights import plots, table
from sezlights.job import run_step


def main():
    # the zones themselves: their rings are in each zone's own figure
    df = table.zones_only(table.read(snakemake.input.table))
    plots.overview_figure(df, snakemake.output.figure)


run_step(snakemake, main)
