import json
import logging

from sezlights.job import run_step, source_of
from sezlights.manifest import Manifest
from sezlights.mosaic import build_mosaic
from sezlights.zones import read_prepared


def main():
    src = source_of(snakemake)
    zones = read_prepared(snakemake.input.zones)
    manifest = Manifest.read(snakemake.input.manifest)
    session = src.session() if any(g.read == "window" for g in manifest.granules) else None
    info = build_mosaic(
        manifest.by_series(),
        src,
        tuple(zones.total_bounds),
        {"radiance": snakemake.output.radiance, "coverage": snakemake.output.coverage},
        files=snakemake.input.files[0] if snakemake.input.files else None,
        session=session,
        cog=True,
        scratch=snakemake.params.scratch,
    )
    logging.getLogger("sezlights.mosaic").info(
        "mosaic of %d granule(s): %s", len(info), json.dumps(info)
    )


run_step(snakemake, main)
