import json
import logging

from sezlights import grid
from sezlights.cli import run_step
from sezlights.errors import UserError
from sezlights.mosaic import build_mosaic
from sezlights.zones import read_prepared

log = logging.getLogger("sezlights.mosaic")


def main():
    zones = read_prepared(snakemake.input.zones)
    pixel = snakemake.params.pixel_deg
    with open(snakemake.input.manifest) as f:
        listed = {t["tile"] for t in json.load(f)["tiles"]}
    needed = {t for b in zones.geometry.bounds.itertuples(index=False) for t in grid.tiles_for_bounds(b, pixel)}
    if needed - listed:
        raise UserError(
            f"{snakemake.wildcards.month}: the manifest lacks tile(s) {', '.join(sorted(needed - listed))} "
            "that the zones need; delete results/manifests/ or set source.refresh_listings: true, and run again."
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
