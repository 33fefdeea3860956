rule prepare_zones:
    input:
        # the user's file, read where the run starts (never looked up in storage)
        zones=local(config["zones"]["path"]),
    output:
        zones="resources/zones.gpkg",
        summary="results/zones_summary.json",
    log:
        "logs/prepare_zones.log",
    localrule: True
    conda:
        "../../envs/sezlights.yaml"
    params:
        id_field=config["zones"]["id_field"],
        pixel_deg=PIXEL_DEG,
    message:
        "Checking and normalising the zones file {input.zones}"
    script:
        "../scripts/prepare_zones.py"


rule index_zone_pixels:
    input:
        zones="resources/zones.gpkg",
    output:
        index="resources/zone_index.npz",
    log:
        "logs/index_zone_pixels.log",
    benchmark:
        "benchmarks/index_zone_pixels.tsv"
    conda:
        "../../envs/sezlights.yaml"
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        pixel_deg=PIXEL_DEG,
    message:
        "Working out once which grid pixels each zone touches"
    script:
        "../scripts/index_zone_pixels.py"
