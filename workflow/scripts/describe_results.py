import csv
import datetime as dt
import json
from pathlib import Path

import yaml

import sezlights
from sezlights import describe, report
from sezlights.atomic import write_text
from sezlights.job import run_step


def main():
    p = snakemake.params
    with open(snakemake.input.table, encoding="utf-8", newline="") as f:
        rows = csv.reader(f)
        columns = next(rows)  # the table's own columns, in order
        count = sum(1 for _ in rows)
    text = describe.readme(
        table_columns=columns,
        wide_stat=p.wide_stat,
        months=list(p.months),
        zones_summary=json.loads(Path(snakemake.input.zones_summary).read_text()),
        config_yaml=yaml.safe_dump(dict(p.config), sort_keys=False, allow_unicode=True),
        files=report.provenance_table(list(snakemake.input.manifests)),
        sources=p.sources,
        rows=count,
        version=sezlights.__version__,
        written=dt.datetime.now(dt.UTC),
    )
    write_text(snakemake.output.readme, text)


run_step(snakemake, main)
