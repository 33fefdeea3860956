rule download_tile:
    input:
        manifest=ancient("results/manifests/{month}.json"),
    output:
        archive=maybe_temp("resources/tiles/{month}/{archive}", KEEP_TILES),
    log:
        "logs/download/{month}/{archive}.log",
    benchmark:
        "benchmarks/download/{month}/{archive}.tsv"
    retries: 2
    # download.local: in the Snakemake process itself, not as a cluster job (for
    # clusters whose compute nodes cannot reach the internet)
    localrule: config["download"]["local"]
    conda:
        "../../envs/sezlights.yaml"
    resources:
        downloads=1,
        mem_mb=512,
        runtime=120,
    params:
        auth=config["source"]["auth"],
        attempts=config["download"]["attempts"],
        timeout=config["download"]["timeout"],
    message:
        "Downloading {wildcards.archive}"
    script:
        "../scripts/download_tile.py"
