rule prepare_zones:
    input:
        zones=config["zones"]["path"],
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
