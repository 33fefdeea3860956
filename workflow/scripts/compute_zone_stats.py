import logging
import time

import pandas as pd

from sezlights import index, indexfile, table, zonal
from sezlights.errors import ChangedFileError
from sezlights.job import run_step, source_of
from sezlights.manifest import STALE, Manifest
from sezlights.zones import read_areas


def main():
    w, p = snakemake.wildcards, snakemake.params
    src = source_of(snakemake)
    idx = indexfile.load(snakemake.input.index)
    index.check_lattice(idx, src.tiles.lattice, snakemake.input.index)
    zones = read_areas(snakemake.input.areas)
    manifest = Manifest.read(snakemake.input.manifest)
    files = snakemake.input.files[0] if snakemake.input.files else None
    session = src.session() if any(g.read == "window" for g in manifest.granules) else None
    log = logging.getLogger("sezlights.stats")
    frames = []
    for (product, satellite), granules in manifest.by_series().items():
        t0 = time.perf_counter()
        try:
            values = zonal.gather(
                idx, granules, src, files, session, p.scratch, threads=snakemake.threads
            )
        except ChangedFileError as exc:
            # the listing is stale: marked so, the next run lists the month again
            stale = f"{snakemake.input.manifest}{STALE}"
            with open(stale, "w", encoding="utf-8") as f:
                f.write(f"{exc}\n")
            raise ChangedFileError(
                f"{exc}: run again, and the month is listed anew and read from the new file."
            ) from None
        t1 = time.perf_counter()
        frames.append(
            zonal.reduce(
                idx, values, zones, w.month, w.source, satellite, product, p.weighting,
                p.min_cloud_free,
            )
        )  # fmt: skip
        log.info(
            "%s %s %s (%s): %d zones, %d pixels; gather %.2f s (%d granules, %d threads), "
            "reduce %.3f s",
            w.source,
            w.month,
            product,
            satellite,
            len(zones),
            int(idx["length"].sum()),
            t1 - t0,
            len(granules),
            snakemake.threads,
            time.perf_counter() - t1,
        )
    df = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=table.STATS_COLUMNS)
    )
    table.write(df, snakemake.output.stats)


run_step(snakemake, main)
