import json
from pathlib import Path

from sezlights import htmltable, perzone, table
from sezlights.atomic import write_text
from sezlights.job import run_step


def main():
    df = table.read(snakemake.input.table)
    csv = snakemake.input.table
    # every row, or none: a search in the first rows would silently miss the others
    write_text(
        snakemake.output.html,
        htmltable.html_table(
            df,
            "All zones and months",
            full_table=csv,
            whole=True,
            note="Every zone has a row in the table by zone.",
        ),
    )
    # every zone, always: one row per zone, on as many pages as it takes
    zones = perzone.per_zone(df)
    pages = htmltable.html_pages(
        zones,
        "Every zone, over the months run",
        note=f"Each of a zone's months is a row of {csv}.",
    )
    out = Path(snakemake.output.by_zone)
    out.mkdir(parents=True, exist_ok=True)
    labels = {}
    for i, (page, start, end) in enumerate(pages, 1):
        stem = f"{i:03d}"
        write_text(out / f"{stem}.html", page)
        ids = zones["zone_id"]
        labels[stem] = (
            "by zone"
            if len(pages) == 1
            else f"by zone, {i} of {len(pages)}: {ids.iloc[start]} to {ids.iloc[end - 1]}"
        )
    write_text(out / "pages.json", json.dumps(labels, ensure_ascii=False, indent=1) + "\n")


run_step(snakemake, main)
