import logging

from sezlights import index, sources
from sezlights.atomic import write_json
from sezlights.job import run_step
from sezlights.zones import read_prepared


def main():
    tiles = sources.get(snakemake.wildcards.source, snakemake.config).tiles
    zones = read_prepared(snakemake.input.zones)
    idx = index.build_index(zones, tiles)
    index.save(idx, snakemake.output.index)
    summary = dict(index.summary(idx), tiles_needed=index.tiles_needed(idx, tiles))
    write_json(snakemake.output.summary, summary)
    logging.getLogger("sezlights.index").info("%s", summary)


run_step(snakemake, main)
