rule combine_zone_stats:
    input:
        stats=expand("results/stats/{month}.csv", month=MONTHS),
    output:
        table=report(
            "results/zonal_stats.csv",
            caption="../report/table.rst",
            category="4. Statistics",
            subcategory="Table",
            labels={"table": "all zones and months"},
        ),
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
