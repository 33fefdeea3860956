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
        # points and rings: the areas themselves (their change reruns the index and the
        # statistics; attributes and timing do not: read_zone_attributes)
        lon_field=config["zones"]["lon_field"],
        lat_field=config["zones"]["lat_field"],
        point_radius_km=config["zones"]["point_radius_km"],
        rings_km=config["zones"]["rings_km"],
        rings_exclude_zones=config["zones"]["rings_exclude_zones"],
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


# The zones' kept attributes and start dates, read on their own: changing
# zones.keep_fields or zones.start_field rewrites the table and its outputs only.
rule read_zone_attributes:
    input:
        zones=ancient(local(ZONES_PATH)),
        sidecars=zones_sidecars(),
    output:
        attributes="results/zones/attributes.parquet",
    log:
        "logs/read_zone_attributes.log",
    localrule: True
    conda:
        "../envs/zones.yaml"
    params:
        fingerprint=zones_fingerprint,
        id_field=config["zones"]["id_field"],
        layer=config["zones"]["layer"],
        table=bool(config["zones"]["lon_field"]),
        keep_fields=config["zones"]["keep_fields"],
        start_field=config["zones"]["start_field"],
    message:
        "Reading the zones' kept attributes and start dates"
    script:
        "../scripts/read_zone_attributes.py"
