from pathlib import Path

import pandas as pd

from sezlights import labels, plots
from sezlights.crops import read_crops
from sezlights.job import run_step, source_of
from sezlights.manifest import Manifest
from sezlights.zones import read_prepared


def main():
    p = snakemake.params
    src = source_of(snakemake)
    shown = pd.read_csv(snakemake.input.shown, dtype={"zone_id": str}, keep_default_na=False)
    ids = list(shown.zone_id)
    zones = read_prepared(snakemake.input.zones).set_index("zone_id").loc[ids].reset_index()
    manifest = Manifest.read(snakemake.input.manifest)
    by_series = manifest.by_series()
    # the newest series of the month (NOAA-20 over Suomi NPP where both flew)
    (product, satellite), granules = list(by_series.items())[-1] if by_series else (("", ""), [])
    session = src.session() if any(g.read == "window" for g in granules) else None
    crops = read_crops(
        zones,
        granules,
        src,
        snakemake.input.files[0] if snakemake.input.files else None,
        session,
        p.scratch,
        p.max_pixels,
        p.min_cloud_free,
    )
    out = Path(snakemake.output.maps)
    what = f"{src.label}, {p.month}" + (f" ({product}, {satellite})" if product else "")
    plots.zone_maps(zones, crops, what, out)
    labels.write_stems(out, ids)


run_step(snakemake, main)
