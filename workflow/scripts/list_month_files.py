import json
import logging
from pathlib import Path

from sezlights.job import note, run_step, source_of


def main():
    src = source_of(snakemake)
    with open(snakemake.input.index_summary) as f:
        needed = json.load(f)["tiles_needed"]
    w = snakemake.wildcards
    m = src.list_month(src.session(), w.month, needed, epoch=snakemake.params.epoch)
    log = logging.getLogger("sezlights.listing")
    for g in m.granules:
        for part in g.parts:
            log.info(
                "%s %s (%s): %s, read by %s (stamp %s, %s bytes)",
                g.tile,
                g.product,
                g.satellite,
                part.name,
                g.read,
                part.stamp,
                part.size,
            )
    for text in m.notes:
        note(f"{w.source} {w.month}: {text}")
    # what the month downloaded before (its folder, if kept): files the server now names
    # anew were republished, and the month is made again
    before = Path(snakemake.params.downloaded)
    if before.is_dir():
        for line in m.replaced((p.name for p in before.iterdir()), src.stamp_of):
            note(f"file republished: {w.source} {w.month} {line}; recomputing that month")
    m.write(snakemake.output.manifest)


run_step(snakemake, main)
