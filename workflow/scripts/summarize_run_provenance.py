import json
from pathlib import Path

import pandas as pd

from sezlights import htmltable, report, table
from sezlights.atomic import write_text
from sezlights.job import run_step


def main():
    files = report.provenance_table(list(snakemake.input.manifests))
    table.write_csv(files, snakemake.output.files)
    write_text(snakemake.output.files_html, htmltable.html_table(files, "Files used"))
    shown = pd.read_csv(snakemake.input.shown, dtype={"zone_id": str}, keep_default_na=False)
    tiles = {
        Path(p).stem: json.loads(Path(p).read_text())["tiles_needed"]
        for p in snakemake.input.index_summaries
    }
    html = report.run_summary_html(
        snakemake.input.zones_summary,
        snakemake.params.config,
        snakemake.params.months,
        files,
        shown,
        table=table.read(snakemake.input.table),
        manifests=list(snakemake.input.manifests),
        sources=snakemake.params.sources,
        tiles_needed=tiles,
    )
    write_text(snakemake.output.summary, html)


run_step(snakemake, main)
