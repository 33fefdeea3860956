import logging

from sezlights import table
from sezlights.job import run_step


def main():
    df = table.combine(list(snakemake.input.stats))
    table.write(df, snakemake.output.table)
    logging.getLogger("sezlights.table").info(
        "%d rows (%d zones, %d months, %d sources) written to %s",
        len(df),
        df.zone_id.nunique(),
        df.month.nunique(),
        df.source.nunique(),
        snakemake.output.table,
    )


run_step(snakemake, main)
