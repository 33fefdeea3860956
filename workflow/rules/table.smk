rule combine_zone_stats:
    input:
        stats=stats_tables,
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
    message:
        "Combining the monthly tables into one time-series table"
    script:
        "../scripts/combine_zone_stats.py"


# Where the results are, for the console (--logger sezlights) and for people: the one
# file that says it (results/run.json).
rule record_where_results_are:
    input:
        table="results/zonal_stats.csv",
        plan=month_plan,
    output:
        run="results/run.json",
    log:
        "logs/record_where_results_are.log",
    localrule: True
    conda:
        "../envs/stats.yaml"
    params:
        results={
            "table": "results/zonal_stats.csv",
            "per_month": "results/stats/{source}/{month}.csv",
            "report": "results/report.html",
        },
        sources=SOURCES,
        months=lambda wildcards: run_months(),
    message:
        "Recording where the results are"
    script:
        "../scripts/record_where_results_are.py"
