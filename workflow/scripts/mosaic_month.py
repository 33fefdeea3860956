import json
import logging

from sezlights import sources
from sezlights.job import run_step
from sezlights.mosaic import build_mosaic
from sezlights.zones import read_prepared


def main():
    src = sources.get(snakemake.wildcards.source, snakemake.config)
    zones = read_prepared(snakemake.input.zones)
    info = build_mosaic(
        list(snakemake.input.files),
        src,
        tuple(zones.total_bounds),
        {"radiance": snakemake.output.radiance, "coverage": snakemake.output.coverage},
        cog=True,
        scratch=snakemake.params.scratch,
    )
    logging.getLogger("sezlights.mosaic").info(
        "mosaic of %d file(s): %s", len(info), json.dumps(info)
    )


run_step(snakemake, main)
