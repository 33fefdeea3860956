rule combine_zone_stats:
    input:
        stats=expand("results/stats/{month}.csv", month=MONTHS),
    output:
        table="results/zonal_stats.csv",
    log:
        "logs/combine_zone_stats.log",
    localrule: True
    conda:
        "../../envs/sezlights.yaml"
    params:
        n=len(MONTHS),
    message:
        "Combining {params.n} months into one time-series table"
    script:
        "../scripts/combine_zone_stats.py"
