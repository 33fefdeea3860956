import logging

from sezlights import attributes, panel, table
from sezlights.job import run_step


def main():
    stats = table.combine(list(snakemake.input.stats))
    df = attributes.join(stats, attributes.load(snakemake.input.attributes))
    columns = table.columns(snakemake.params.keep_fields)
    table.write(df, snakemake.output.table, columns)
    panel.write_parquet(table.sort(df[columns]), snakemake.output.parquet)
    logging.getLogger("sezlights.table").info(
        "%d rows (%d zones, %d rings, %d months, %d sources) written to %s and %s",
        len(df),
        df.zone_id[df.zone_kind == "zone"].nunique(),
        df.zone_id[df.zone_kind == "ring"].nunique(),
        df.month.nunique(),
        df.source.nunique(),
        snakemake.output.table,
        snakemake.output.parquet,
    )


run_step(snakemake, main)
