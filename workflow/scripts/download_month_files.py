from sezlights.download import download_month
from sezlights.job import run_step, source_of
from sezlights.manifest import Manifest


def main():
    download_month(
        source_of(snakemake),
        Manifest.read(snakemake.input.manifest),
        snakemake.output.files,
        snakemake.params.staging,
        parallel=snakemake.params.parallel,
        progress_path=f"{snakemake.log[0]}.progress",
        keep=snakemake.params.keep,
    )


run_step(snakemake, main)
