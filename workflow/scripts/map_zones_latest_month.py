from pathlib import Path

from sezlights.cli import run_step
from sezlights.plots import zone_maps
from sezlights.zonal import gather_crops
from sezlights.zones import read_prepared


def main():
    zones = read_prepared(snakemake.input.zones)
    scratch = Path(snakemake.params.scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    crops = gather_crops(zones, list(snakemake.input.archives), snakemake.params.pixel_deg, scratch)
    zone_maps(zones, crops, snakemake.params.month, snakemake.output.maps)


run_step(snakemake, main)
