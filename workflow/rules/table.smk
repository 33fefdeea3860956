rule combine_zone_stats:
    input:
        stats=stats_tables(),
    output:
        table=report(
            "results/zonal_stats.csv",
            caption="../report/table.rst",
            category="4. Statistics",
            subcategory="Table",
            labels={"table": "all zones and months (CSV)"},
        ),
    log:
        "logs/combine_zone_stats.log",
    localrule: True
    conda:
        "../envs/stats.yaml"
    params:
        n=len(MONTHS) * len(SOURCES),
    message:
        "Combining {params.n} monthly tables into one time-series table"
    script:
        "../scripts/combine_zone_stats.py"
