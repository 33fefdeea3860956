rule download_tile:
    message:
        "Downloading {wildcards.archive}"
    input:
        manifest=ancient("results/manifests/{month}.json"),
    output:
        archive=maybe_temp("resources/tiles/{month}/{archive}", KEEP_TILES),
    params:
        auth=config["source"]["auth"],
        attempts=config["download"]["attempts"],
        timeout=config["download"]["timeout"],
    log:
        "logs/download/{month}/{archive}.log",
    benchmark:
        "benchmarks/download/{month}/{archive}.tsv"
    resources:
        downloads=1,
        mem_mb=512,
        runtime=120,
    retries: 2
    script:
        "../scripts/download_tile.py"
