from sezlights import sources
from sezlights.atomic import write_json
from sezlights.job import run_step
from sezlights.zones import load_zones, write_areas, write_zones


def main():
    p = snakemake.params
    path = snakemake.input.zones
    zones = load_zones(path, p.id_field, p.layer)
    write_zones(zones, snakemake.output.zones)
    write_areas(zones, snakemake.output.areas)
    grids = {}
    for key, src in p.grids.items():
        tiles = sources.make(src["name"], src["settings"]).grid.tiles
        wins = [
            tiles.lattice.window_for_bounds(part.bounds, pad=1)
            for part in zones.geometry.explode(index_parts=False)
        ]
        pixels = [int(w.width * w.height) for w in wins]
        grids[key] = {
            "zones": len(zones),
            "window_pixels": sum(pixels),
            "largest_window_pixels": max(pixels, default=0),
        }
    write_json(
        snakemake.output.summary,
        {
            "source": str(path),
            "sha256": p.fingerprint,
            "id_field": p.id_field,
            "layer": p.layer,
            "zones": len(zones),
            "bounds": [round(v, 6) for v in zones.total_bounds],
            "grids": grids,
        },
    )


run_step(snakemake, main)
