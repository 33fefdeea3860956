from sezlights.cli import run_step
from sezlights.stats import month_stats, write_csv
from sezlights.zones import read_prepared


def main():
    zones = read_prepared(snakemake.input.zones)
    df = month_stats(
        zones, snakemake.input.radiance, snakemake.input.coverage, snakemake.wildcards.month
    )
    write_csv(df, snakemake.output.stats)


run_step(snakemake, main)
