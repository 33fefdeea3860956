rule prepare_zones:
    message:
        "Checking and normalising the zones file {input.zones}"
    input:
        zones=config["zones"]["path"],
    output:
        zones="resources/zones.gpkg",
        summary="results/zones_summary.json",
    params:
        id_field=config["zones"]["id_field"],
        pixel_deg=PIXEL_DEG,
    log:
        "logs/prepare_zones.log",
    localrule: True
    script:
        "../scripts/prepare_zones.py"
