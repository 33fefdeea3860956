rule prepare_zones:
    input:
        # the user's files, read where the run starts (never looked up in storage);
        # their content, not their times, decides whether this reruns (params)
        zones=ancient(local(ZONES_PATH)),
        sidecars=zones_sidecars(),
    output:
        zones="resources/zones.gpkg",
        areas="results/zones/areas.csv",
        summary="results/zones_summary.json",
    log:
        "logs/prepare_zones.log",
    localrule: True
    conda:
        "../envs/zones.yaml"
    params:
        fingerprint=zones_fingerprint,
        id_field=config["zones"]["id_field"],
        layer=config["zones"]["layer"],
        grids={key: grid_settings(key) for key in GRIDS},
    message:
        "Checking and normalising the zones file {input.zones}"
    script:
        "../scripts/prepare_zones.py"


rule index_zone_pixels:
    input:
        zones="resources/zones.gpkg",
        summary="results/zones_summary.json",
    output:
        index="resources/index/{grid}.npz",
        summary="resources/index/{grid}.json",
    log:
        "logs/index_zone_pixels/{grid}.log",
    benchmark:
        "benchmarks/index_zone_pixels/{grid}.tsv"
    conda:
        "../envs/zones.yaml"
    resources:
        mem_mb=index_mem_mb,
        runtime=30,
    params:
        source=grid_source,
    message:
        "Working out once how much of each {wildcards.grid} grid pixel each zone covers"
    script:
        "../scripts/index_zone_pixels.py"
