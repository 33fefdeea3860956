# One job per source and month downloads the month's whole files (those not read by
# window), several at once: per-file resume, verification and an atomic folder.
rule download_month_files:
    input:
        manifest=ancient("results/manifests/{source}/{month}.json"),
    output:
        files=maybe_temp(directory("resources/files/{source}/{month}"), KEEP_FILES),
    log:
        "logs/download/{source}/{month}.log",
    benchmark:
        "benchmarks/download/{source}/{month}.tsv"
    # every try for a file draws on one budget inside the job (download.retry_budget,
    # download.attempts): restarting the job would only multiply it
    retries: 0
    # download.local: in the Snakemake process itself, not as a cluster job (for
    # compute nodes without internet, and for AWS Batch: see plan.smk)
    localrule: DOWNLOAD_LOCAL
    conda:
        "../envs/download.yaml"
    resources:
        # one of its source's download slots (Source.download_resource: eog_downloads,
        # laads_downloads; profiles set how many per server)
        **download_slots(),
        mem_mb=512,
        runtime=lambda wildcards: 10
        + round(config["download"]["retry_budget"] / 60)
        + 60,
    params:
        # the files by name (names carry the server's stamps): a republished file reruns
        # its month's download
        names=month_download_names,
        source=source_settings,
        parallel=config["download"]["parallel"],
        keep=KEEP_FILES,
        # files in progress, kept between runs (never in the output folder, which
        # Snakemake clears before the job)
        staging=lambda wildcards: f"resources/files/{wildcards.source}/.staging/{wildcards.month}",
    message:
        "Downloading the {wildcards.source} files of {wildcards.month}"
    script:
        "../scripts/download_month_files.py"
