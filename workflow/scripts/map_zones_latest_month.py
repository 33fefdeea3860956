from pathlib import Path

import pandas as pd

from sezlights import labels, plots, sources
from sezlights.crops import read_crops
from sezlights.job import run_step
from sezlights.zones import read_prepared


def main():
    p = snakemake.params
    src = sources.get(snakemake.wildcards.source, snakemake.config)
    shown = pd.read_csv(snakemake.input.shown, dtype={"zone_id": str}, keep_default_na=False)
    ids = list(shown.zone_id)
    zones = read_prepared(snakemake.input.zones).set_index("zone_id").loc[ids].reset_index()
    crops = read_crops(
        zones,
        list(snakemake.input.files),
        src,
        p.scratch,
        p.max_pixels,
        snakemake.config["stats"]["min_cloud_free"],
    )
    out = Path(snakemake.output.maps)
    plots.zone_maps(zones, crops, f"{src.label}, {p.month}", out)
    labels.write_stems(out, ids)


run_step(snakemake, main)
