# Only with mosaic.keep: nothing else needs a mosaic (statistics and maps read the
# files directly); kept as Cloud-Optimized GeoTIFFs for use in a GIS.
rule mosaic_month:
    input:
        files=month_downloads,
        manifest=ancient("results/manifests/{source}/{month}.json"),
        zones="resources/zones.gpkg",
    output:
        radiance="resources/mosaic/{source}/{month}/radiance.tif",
        coverage="resources/mosaic/{source}/{month}/coverage.tif",
    log:
        "logs/mosaic/{source}/{month}.log",
    benchmark:
        "benchmarks/mosaic/{source}/{month}.tsv"
    conda:
        "../envs/stats.yaml"
    resources:
        mem_mb=2048,
        runtime=60,
    params:
        source=source_settings,
        # an accepted gap-filled Black Marble pixel's count in the coverage band
        min_cloud_free=config["stats"]["min_cloud_free"],
        scratch=lambda wildcards: f"resources/scratch/mosaic/{wildcards.source}/{wildcards.month}",
    message:
        "Stitching the {wildcards.source} tiles of {wildcards.month} into one mosaic"
    script:
        "../scripts/mosaic_month.py"
