rule combine_zone_stats:
    input:
        stats=stats_tables,
        # kept fields and start dates, joined here (a ring takes its zone's)
        attributes="results/zones/attributes.parquet",
    output:
        table=report(
            "results/zonal_stats.csv",
            caption="../report/table.rst",
            category="4. Statistics",
            subcategory="Table",
            labels={"table": "all zones and months (CSV)"},
        ),
        parquet="results/zonal_stats.parquet",
    log:
        "logs/combine_zone_stats.log",
    localrule: True
    conda:
        "../envs/stats.yaml"
    params:
        keep_fields=config["zones"]["keep_fields"],
    message:
        "Combining the monthly tables into one time-series table (CSV and Parquet)"
    script:
        "../scripts/combine_zone_stats.py"


# For spreadsheets: a row per area, source and satellite, a column per month.
rule spread_zone_stats_by_month:
    input:
        table="results/zonal_stats.csv",
    output:
        wide="results/zonal_stats_wide.csv",
    log:
        "logs/spread_zone_stats_by_month.log",
    localrule: True
    conda:
        "../envs/stats.yaml"
    resources:
        mem_mb=table_mem_mb,
    params:
        stat=config["table"]["wide_stat"],
        keep_fields=config["zones"]["keep_fields"],
    message:
        "Spreading the table into one column per month ({params.stat})"
    script:
        "../scripts/spread_zone_stats_by_month.py"


# What each file holds, every column with its unit, the configuration, and the files
# the numbers come from: results/README.txt, written with each run's table.
rule describe_results:
    input:
        table="results/zonal_stats.csv",
        manifests=listed_manifests,
        zones_summary="results/zones_summary.json",
        plan=month_plan,
    output:
        readme="results/README.txt",
    log:
        "logs/describe_results.log",
    localrule: True
    conda:
        "../envs/report.yaml"
    params:
        months=lambda wildcards: run_months(),
        listed=manifest_digests,
        sources={name: SOURCE[name].provenance() for name in SOURCES},
        config=lambda wildcards: redact(config),
        wide_stat=config["table"]["wide_stat"],
        keep_fields=config["zones"]["keep_fields"],
    message:
        "Describing the results in results/README.txt"
    script:
        "../scripts/describe_results.py"


# Where the results are, for the console (--logger sezlights) and for people: the one
# file that says it (results/run.json).
rule record_where_results_are:
    input:
        table="results/zonal_stats.csv",
        parquet="results/zonal_stats.parquet",
        wide="results/zonal_stats_wide.csv",
        readme="results/README.txt",
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
            "parquet": "results/zonal_stats.parquet",
            "wide": "results/zonal_stats_wide.csv",
            "readme": "results/README.txt",
            "per_month": "results/stats/{source}/{month}.csv",
            "report": "results/report.html",
        },
        sources=SOURCES,
        months=lambda wildcards: run_months(),
    message:
        "Recording where the results are"
    script:
        "../scripts/record_where_results_are.py"
