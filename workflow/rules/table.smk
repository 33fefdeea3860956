rule combine_zone_stats:
    message:
        "Combining {params.n} months into one time-series table"
    input:
        stats=expand("results/stats/{month}.csv", month=MONTHS),
    output:
        table="results/zonal_stats.csv",
    params:
        n=len(MONTHS),
    log:
        "logs/combine_zone_stats.log",
    localrule: True
    script:
        "../scripts/combine_zone_stats.py"
