rule compute_zone_stats:
    input:
        archives=tile_archives,
        manifest=ancient("results/manifests/{month}.json"),
        index="resources/zone_index.npz",
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
    # two archives decompressed at once (ISA-L releases the GIL)
    threads: 2
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        scratch=lambda wildcards: f"resources/scratch/{wildcards.month}",
    message:
        "Computing per-zone statistics for {wildcards.month}"
    script:
        "../scripts/compute_zone_stats.py"
