from sezlights import plots, table
from sezlights.job import run_step


def main():
    plots.source_scatter(table.read(snakemake.input.table), snakemake.output.figure)


run_step(snakemake, main)
