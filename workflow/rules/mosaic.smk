rule mosaic_month:
    input:
        archives=tile_archives,
        manifest=ancient("results/manifests/{month}.json"),
        zones="resources/zones.gpkg",
    output:
        radiance=maybe_temp("resources/mosaic/{month}/avg_rade9h.tif", KEEP_MOSAIC),
        coverage=maybe_temp("resources/mosaic/{month}/cf_cvg.tif", KEEP_MOSAIC),
    log:
        "logs/mosaic/{month}.log",
    benchmark:
        "benchmarks/mosaic/{month}.tsv"
    conda:
        "../../envs/sezlights.yaml"
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        pixel_deg=PIXEL_DEG,
        cog=KEEP_MOSAIC,
    message:
        "Stitching the tiles of {wildcards.month} into one mosaic"
    script:
        "../scripts/mosaic_month.py"
