from sezlights.atomic import write_json
from sezlights.cli import run_step
from sezlights.zones import load_zones, needed_tiles, sha256, write_zones


def main():
    zones = load_zones(snakemake.input.zones, snakemake.params.id_field)
    tiles = needed_tiles(zones, snakemake.params.pixel_deg)
    write_zones(zones, snakemake.output.zones)
    write_json(
        snakemake.output.summary,
        {
            "source": str(snakemake.input.zones),
            "sha256": sha256(snakemake.input.zones),
            "id_field": snakemake.params.id_field,
            "zones": len(zones),
            "bounds": [round(v, 6) for v in zones.total_bounds],
            "tiles_needed": tiles,
        },
    )


run_step(snakemake, main)
