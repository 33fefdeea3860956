from sezlights import attributes
from sezlights.job import note, run_step


def main():
    p = snakemake.params
    df = attributes.read(
        snakemake.input.zones,
        p.id_field,
        p.layer,
        table=p.table,
        keep_fields=p.keep_fields,
        start_field=p.start_field,
    )
    attributes.write(df, snakemake.output.attributes)
    if text := attributes.no_start_note(df, p.start_field):
        note(text)


run_step(snakemake, main)
