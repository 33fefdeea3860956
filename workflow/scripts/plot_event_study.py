from sezlights import plots, table
from sezlights.job import run_step


def main():
    df = table.read(snakemake.input.table)
    plots.event_study_figure(df, snakemake.output.figure, snakemake.params.window)


run_step(snakemake, main)
