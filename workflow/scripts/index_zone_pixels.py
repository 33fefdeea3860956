import logging

from sezlights.cli import run_step
from sezlights.zonal import build_index, save_index
from sezlights.zones import read_prepared


def main():
    zones = read_prepared(snakemake.input.zones)
    index = build_index(zones, snakemake.params.pixel_deg)
    save_index(index, snakemake.output.index)
    logging.getLogger("sezlights.index").info(
        "%d zones touch %d pixels", len(zones), index["row"].size
    )


run_step(snakemake, main)
