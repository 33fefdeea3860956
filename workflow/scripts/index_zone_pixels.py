import logging

from sezlights import index, indexfile
from sezlights.atomic import write_json
from sezlights.disk import expect_disk
from sezlights.job import run_step, source_of
from sezlights.zones import read_prepared


def main():
    tiles = source_of(snakemake).grid.tiles
    zones = read_prepared(snakemake.input.zones)
    idx = index.build_index(zones, tiles)
    # the index file holds these arrays (about their size), for a full disk's message
    expect_disk(snakemake.output.index, sum(getattr(a, "nbytes", 0) for a in idx.values()))
    indexfile.save(idx, snakemake.output.index)
    summary = index.summary(idx, tiles)
    write_json(snakemake.output.summary, summary)
    logging.getLogger("sezlights.index").info("%s", summary)


run_step(snakemake, main)
