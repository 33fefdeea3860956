checkpoint discover_month_tiles:
    message:
        "Listing the tiles of {wildcards.month} on the server"
    input:
        zones="resources/zones.gpkg",
    output:
        manifest="results/manifests/{month}.json",
    params:
        base_url=config["source"]["base_url"],
        product=config["source"]["product"],
        auth=config["source"]["auth"],
    log:
        "logs/discover/{month}.log",
    localrule: True
    script:
        "../scripts/discover_month_tiles.py"
