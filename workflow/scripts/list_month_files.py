import json
import logging

from sezlights import sources
from sezlights.job import run_step
from sezlights.listings import write_manifest


def main():
    src = sources.get(snakemake.wildcards.source, snakemake.config)
    with open(snakemake.input.index_summary) as f:
        needed = json.load(f)["tiles_needed"]
    m = src.list_month(src.session(), snakemake.wildcards.month, needed)
    log = logging.getLogger("sezlights.listing")
    for f in m["files"]:
        log.info("%s: %s (stamp %s, listed %s bytes)", f["tile"], f["name"], f["stamp"], f["size"])
    write_manifest(snakemake.output.manifest, m)


run_step(snakemake, main)
