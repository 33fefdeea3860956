checkpoint discover_month_tiles:
    input:
        zones="resources/zones.gpkg",
    output:
        manifest="results/manifests/{month}.json",
    log:
        "logs/discover/{month}.log",
    localrule: True
    conda:
        "../../envs/sezlights.yaml"
    params:
        base_url=config["source"]["base_url"],
        product=config["source"]["product"],
        auth=config["source"]["auth"],
        pixel_deg=PIXEL_DEG,
    message:
        "Listing the tiles of {wildcards.month} on the server"
    script:
        "../scripts/discover_month_tiles.py"
