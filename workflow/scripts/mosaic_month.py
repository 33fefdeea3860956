import json
import logging

from sezlights.cli import run_step
from sezlights.errors import UserError
from sezlights.mosaic import build_mosaic
from sezlights.zones import needed_tiles, read_prepared

log = logging.getLogger("sezlights.mosaic")


def main():
    zones = read_prepared(snakemake.input.zones)
    pixel = snakemake.params.pixel_deg
    with open(snakemake.input.manifest) as f:
        listed = {t["tile"] for t in json.load(f)["tiles"]}
    lacking = [t for t in needed_tiles(zones, pixel) if t not in listed]
    if lacking:
        raise UserError(
            f"{snakemake.wildcards.month}: the manifest lacks tile(s) {', '.join(lacking)} that "
            "the zones need; delete that month's manifest in results/manifests/ and run again."
        )
    info = build_mosaic(
        snakemake.input.archives,
        tuple(zones.total_bounds),
        pixel,
        {"avg_rade9h": snakemake.output.radiance, "cf_cvg": snakemake.output.coverage},
        cog=snakemake.params.cog,
    )
    log.info("mosaic of %d tile(s): %s", len(info), json.dumps(info))


run_step(snakemake, main)
