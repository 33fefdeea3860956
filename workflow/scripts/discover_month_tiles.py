import logging

from sezlights.atomic import write_json
from sezlights.cli import run_step
from sezlights.discover import discover_month
from sezlights.http import get_token, make_session
from sezlights.zones import needed_tiles, read_prepared

log = logging.getLogger("sezlights.discover")


def main():
    zones = read_prepared(snakemake.input.zones)
    needed = needed_tiles(zones, snakemake.params.pixel_deg)
    session = make_session(token=get_token(snakemake.params.auth))
    m = discover_month(
        session,
        snakemake.params.base_url,
        snakemake.wildcards.month,
        snakemake.params.product,
        needed,
    )
    for t in m["tiles"]:
        log.info("%s: %s (stamp %s, %s bytes)", t["tile"], t["name"], t["stamp"], t["size"])
    write_json(snakemake.output.manifest, m)


run_step(snakemake, main)
