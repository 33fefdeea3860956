from sezlights import htmltable, table
from sezlights.atomic import write_text
from sezlights.job import run_step


def main():
    df = table.read(snakemake.input.table)
    write_text(
        snakemake.output.html,
        htmltable.html_table(df, "All zones and months", full_table=snakemake.input.table),
    )


run_step(snakemake, main)
