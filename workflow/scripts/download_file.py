import json
from pathlib import Path

from sezlights import sources
from sezlights.errors import UserError
from sezlights.job import run_step


def main():
    w = snakemake.wildcards
    with open(snakemake.input.manifest) as f:
        files = {e["name"]: e for e in json.load(f)["files"]}
    if w.file not in files:
        raise UserError(f"{w.file} is not in the {w.source} manifest of {w.month}; run again.")
    src = sources.get(w.source, snakemake.config)
    src.download(
        src.session(),
        files[w.file],
        Path(snakemake.output.file),
        progress_path=f"{snakemake.log[0]}.progress",
    )


run_step(snakemake, main)
