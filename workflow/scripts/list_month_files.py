import json
import logging
from pathlib import Path

from sezlights import indexfile
from sezlights.job import note, run_step, source_of
from sezlights.manifest import STALE


def main():
    src = source_of(snakemake)
    with open(snakemake.input.index_summary) as f:
        needed = json.load(f)["tiles_needed"]
    w = snakemake.wildcards
    src.window_reads = snakemake.params.window_reads
    idx = indexfile.load(snakemake.input.index)
    m = src.list_month(src.session(), w.month, needed, epoch=snakemake.params.epoch, index=idx)
    log = logging.getLogger("sezlights.listing")
    for g in m.granules:
        if g.bytes_window is not None:
            log.info(
                "%s %s: read by %s; by window about %d bytes of the %s bytes the whole "
                "files hold",
                g.tile, g.product, g.read, g.bytes_window, g.bytes_download,
            )  # fmt: skip
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
    # listed anew: a mark that the old listing was stale has done its work
    Path(f"{snakemake.output.manifest}{STALE}").unlink(missing_ok=True)


run_step(snakemake, main)
