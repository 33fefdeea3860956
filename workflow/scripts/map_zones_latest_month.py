from pathlib import Path

import pandas as pd

from sezlights.cli import run_step
from sezlights.plots import zone_maps
from sezlights.zonal import gather_crops
from sezlights.zones import read_prepared


def main():
    zones = read_prepared(snakemake.input.zones)
    shown = pd.read_csv(snakemake.input.shown, dtype={"zone_id": str}).zone_id
    zones = zones.set_index("zone_id").loc[list(shown)].reset_index()
    scratch = Path(snakemake.params.scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    crops = gather_crops(zones, list(snakemake.input.archives), snakemake.params.pixel_deg, scratch)
    zone_maps(zones, crops, snakemake.params.month, snakemake.output.maps)


run_step(snakemake, main)
