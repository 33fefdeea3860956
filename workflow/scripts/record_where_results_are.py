import json

from sezlights.atomic import write_json, write_text
from sezlights.job import run_step


def main():
    p = snakemake.params
    run = {**p.results, "sources": p.sources, "months": p.months}
    write_json(snakemake.output.run, run)
    # the same, in the log: Snakemake keeps logs on this machine in storage runs, where the
    # console reads it (snakemake_logger_plugin_sezlights.results)
    write_text(snakemake.log[0], json.dumps(run, indent=2) + "\n")


run_step(snakemake, main)
