rule download_file:
    input:
        manifest=ancient("results/manifests/{source}/{month}.json"),
    output:
        file=maybe_temp("resources/files/{source}/{month}/{file}", KEEP_FILES),
    log:
        "logs/download/{source}/{month}/{file}.log",
    benchmark:
        "benchmarks/download/{source}/{month}/{file}.tsv"
    # every try for a file draws on one budget inside the job (download.retry_budget,
    # download.attempts): restarting the job would only multiply it
    retries: 0
    # download.local: in the Snakemake process itself, not as a cluster job (for
    # compute nodes without internet, and for AWS Batch: see common.smk)
    localrule: DOWNLOAD_LOCAL
    conda:
        "../envs/download.yaml"
    resources:
        # one of its source's download slots (Source.resource: downloads for EOG,
        # laads_downloads for LAADS; profiles set how many per server)
        **download_slots(),
        mem_mb=512,
        runtime=lambda wildcards: 10
        + round(config["download"]["retry_budget"] / 60)
        + 60,
    message:
        "Downloading {wildcards.file}"
    script:
        "../scripts/download_file.py"
