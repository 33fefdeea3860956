import json

from sezlights.cli import run_step
from sezlights.download import download
from sezlights.errors import UserError
from sezlights.http import get_token, make_session


def main():
    with open(snakemake.input.manifest) as f:
        tiles = {t["name"]: t for t in json.load(f)["tiles"]}
    name = snakemake.wildcards.archive
    if name not in tiles:
        raise UserError(f"{name} is not in the manifest of {snakemake.wildcards.month}; run again.")
    tile = tiles[name]
    session = make_session(token=get_token(snakemake.params.auth))
    with open(snakemake.log[0], "a") as progress:
        download(
            session,
            tile["url"],
            snakemake.output.archive,
            expected_size=tile.get("size"),
            attempts=snakemake.params.attempts,
            timeout=(10, snakemake.params.timeout),
            progress_file=progress,
        )


run_step(snakemake, main)
