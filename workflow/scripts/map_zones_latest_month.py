from sezlights.cli import run_step
from sezlights.plots import zone_maps
from sezlights.zones import read_prepared


def main():
    zones = read_prepared(snakemake.input.zones)
    zone_maps(zones, snakemake.input.radiance, snakemake.params.month, snakemake.output.maps)


run_step(snakemake, main)
