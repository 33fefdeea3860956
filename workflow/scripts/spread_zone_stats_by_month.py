from sezlights import panel, table
from sezlights.job import run_step


def main():
    p = snakemake.params
    df = table.read(snakemake.input.table)
    panel.write_wide(df, snakemake.output.wide, p.stat, p.keep_fields)


run_step(snakemake, main)
