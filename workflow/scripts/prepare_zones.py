import logging

from sezlights import areas, sources
from sezlights.atomic import write_json
from sezlights.job import run_step
from sezlights.zones import load_zones, write_zones


def main():
    p = snakemake.params
    path = snakemake.input.zones
    zones = load_zones(
        path,
        p.id_field,
        p.layer,
        lon_field=p.lon_field,
        lat_field=p.lat_field,
        point_radius_km=p.point_radius_km,
    )
    # every area of the run (the zones, then their rings): the index's zone numbers
    every = areas.build(zones, p.rings_km, p.rings_exclude_zones)
    write_zones(every, snakemake.output.zones)
    areas.write_table(every, snakemake.output.areas)
    grids = {}
    for key, src in p.grids.items():
        tiles = sources.make(src["name"], src["settings"]).grid.tiles
        wins = [
            tiles.lattice.window_for_bounds(part.bounds, pad=1)
            for part in every.geometry.explode(index_parts=False)
            if not part.is_empty
        ]
        pixels = [int(w.width * w.height) for w in wins]
        grids[key] = {
            "zones": len(every),
            "window_pixels": sum(pixels),
            "largest_window_pixels": max(pixels, default=0),
        }
    kinds = every["zone_kind"].value_counts()
    logging.getLogger("sezlights.zones").info(
        "%d zones (%d discs around points), %d rings",
        int(kinds.get("zone", 0)),
        int((zones["shape"] == "disc").sum()),
        int(kinds.get("ring", 0)),
    )
    write_json(
        snakemake.output.summary,
        {
            "source": str(path),
            "sha256": p.fingerprint,
            "id_field": p.id_field,
            "layer": p.layer,
            "zones": len(zones),
            "discs": int((zones["shape"] == "disc").sum()),
            "point_radius_km": p.point_radius_km,
            "rings_km": list(p.rings_km),
            "rings_exclude_zones": p.rings_exclude_zones,
            "areas": len(every),
            "bounds": [round(v, 6) for v in every.total_bounds],
            "grids": grids,
        },
    )


run_step(snakemake, main)
