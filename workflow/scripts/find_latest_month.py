import json

from sezlights import config, sources
from sezlights.atomic import write_json
from sezlights.job import download_settings, note, run_step
from sezlights.latest import latest_month
from sezlights.months import parse_month


def main():
    p = snakemake.params
    shared = sources.Shared(download=download_settings(snakemake))
    found = {name: sources.make(name, block, shared) for name, block in p.sources.items()}
    needed = {}
    for path in snakemake.input.index_summaries:
        with open(path) as f:
            tiles = json.load(f)["tiles_needed"]
        for name, grid in p.grids.items():
            if path.endswith(f"/{grid}.json"):
                needed[name] = tiles
    first = parse_month(p.start, "months.start")
    month, skipped = latest_month(found, needed, first)
    for line in skipped:
        note(f"months.end latest: {line}")
    # the range must hold for every source (a config error names what to change)
    run = {**p.sources, "sources": list(p.sources), "months": {"start": p.start, "end": month}}
    months = config.months(run)
    note(f"months.end latest: {month} ({len(months)} months from {months[0]})")
    write_json(snakemake.output.plan, {"month": month, "skipped": skipped, "epoch": p.epoch})


run_step(snakemake, main)
