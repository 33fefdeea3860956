import logging

from sezlights.cli import run_step
from sezlights.stats import combine, write_csv


def main():
    df = combine(list(snakemake.input.stats))
    write_csv(df, snakemake.output.table)
    logging.getLogger("sezlights.table").info(
        "%d rows (%d zones x %d months) written to %s",
        len(df),
        df.zone_id.nunique(),
        df.month.nunique(),
        snakemake.output.table,
    )


run_step(snakemake, main)
