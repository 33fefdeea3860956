rule compute_zone_stats:
    input:
        radiance="resources/mosaic/{month}/avg_rade9h.tif",
        coverage="resources/mosaic/{month}/cf_cvg.tif",
        zones="resources/zones.gpkg",
    output:
        stats=report(
            "results/stats/{month}.csv",
            caption="../report/month_stats.rst",
            category="4. Statistics",
            subcategory="Per month",
            labels={"month": "{month}", "table": "zone statistics"},
        ),
    log:
        "logs/stats/{month}.log",
    benchmark:
        "benchmarks/stats/{month}.tsv"
    conda:
        "../../envs/sezlights.yaml"
    resources:
        mem_mb=2000,
        runtime=60,
    message:
        "Computing per-zone statistics for {wildcards.month}"
    script:
        "../scripts/compute_zone_stats.py"
