# Figures and tables for `snakemake --report`: categories follow the pipeline.


rule choose_report_zones:
    input:
        table="results/zonal_stats.csv",
    output:
        shown="results/report/zones_shown.csv",
        html=report(
            "results/report/zones_shown.html",
            caption="../report/zones_shown.rst",
            category="1. Run",
            labels={"table": "zones plotted"},
        ),
    log:
        "logs/report/choose_report_zones.log",
    localrule: True
    conda:
        "../envs/report.yaml"
    params:
        zones=config["report"]["zones"],
        max_zones=config["report"]["max_zones"],
    message:
        "Choosing the zones the report plots one by one"
    script:
        "../scripts/choose_report_zones.py"


rule summarize_run_provenance:
    input:
        manifests=all_manifests(),
        zones_summary="results/zones_summary.json",
        shown="results/report/zones_shown.csv",
        table="results/zonal_stats.csv",
    output:
        files="results/report/files.csv",
        files_html=report(
            "results/report/files.html",
            caption="../report/files.rst",
            category="2. Files",
            labels={"table": "files used"},
        ),
        summary=report(
            "results/report/run_summary.html",
            caption="../report/run_summary.rst",
            category="1. Run",
            labels={"table": "run summary"},
        ),
    log:
        "logs/report/summarize_run_provenance.log",
    localrule: True
    conda:
        "../envs/report.yaml"
    params:
        months=MONTHS,
        sources={name: SOURCE[name].provenance() for name in SOURCES},
    message:
        "Writing the run's provenance: months, files and creation stamps, zones file, config"
    script:
        "../scripts/summarize_run_provenance.py"


rule tabulate_zonal_stats:
    input:
        table="results/zonal_stats.csv",
    output:
        html=report(
            "results/report/zonal_stats.html",
            caption="../report/table.rst",
            category="4. Statistics",
            subcategory="Table",
            labels={"table": "all zones and months"},
        ),
        by_zone=report(
            directory("results/report/by_zone"),
            patterns=["{page}.html"],
            caption="../report/table_by_zone.rst",
            category="4. Statistics",
            subcategory="Table",
            labels=table_page_labels,
        ),
    log:
        "logs/report/tabulate_zonal_stats.log",
    localrule: True
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=table_mem_mb,
    message:
        "Making the time-series table browsable in the report, and a row per zone"
    script:
        "../scripts/tabulate_zonal_stats.py"


rule plot_all_zones_overview:
    input:
        table="results/zonal_stats.csv",
    output:
        figure=report(
            "results/report/overview.png",
            caption="../report/overview.rst",
            category="4. Statistics",
            subcategory="All zones",
            labels={"zone": "all zones", "figure": "overview"},
        ),
    log:
        "logs/report/plot_all_zones_overview.log",
    localrule: True
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=table_mem_mb,
    message:
        "Plotting all zones' night lights by month"
    script:
        "../scripts/plot_all_zones_overview.py"


rule plot_zone_timeseries:
    input:
        table="results/zonal_stats.csv",
        shown="results/report/zones_shown.csv",
    output:
        figures=report(
            directory("results/report/timeseries"),
            patterns=["{zone}.png"],
            caption="../report/timeseries.rst",
            category="4. Statistics",
            subcategory="Time series",
            labels=zone_figure_labels(figure="time series"),
        ),
    log:
        "logs/report/plot_zone_timeseries.log",
    benchmark:
        "benchmarks/report/plot_zone_timeseries.tsv"
    conda:
        "../envs/report.yaml"
    threads: 2
    resources:
        mem_mb=table_mem_mb,
        runtime=30,
    message:
        "Plotting each zone's night lights over the months run"
    script:
        "../scripts/plot_zone_timeseries.py"


rule compare_sources:
    input:
        table="results/zonal_stats.csv",
    output:
        figure=report(
            "results/report/sources_scatter.png",
            caption="../report/sources_scatter.rst",
            category="4. Statistics",
            subcategory="EOG and Black Marble",
            labels={"zone": "all zones", "figure": "EOG vs Black Marble"},
        ),
    log:
        "logs/report/compare_sources.log",
    localrule: True
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=table_mem_mb,
    message:
        "Comparing EOG and Black Marble zone by zone"
    script:
        "../scripts/compare_sources.py"


rule map_zones_latest_month:
    input:
        files=latest_month_files,
        zones="resources/zones.gpkg",
        shown="results/report/zones_shown.csv",
    output:
        maps=report(
            directory("results/report/maps/{source}"),
            patterns=["{zone}.png"],
            caption="../report/maps.rst",
            category="3. Maps",
            subcategory="{source}, latest month",
            labels=zone_figure_labels(source="{source}", month=MONTHS[-1]),
        ),
    log:
        "logs/report/map_zones_latest_month/{source}.log",
    benchmark:
        "benchmarks/report/map_zones_latest_month/{source}.tsv"
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=maps_mem_mb,
        runtime=30,
    params:
        month=MONTHS[-1],
        max_pixels=MAP_PIXELS,
        # not the month's stats job's folder: each job clears stale files in its own
        scratch=lambda wildcards: f"resources/scratch/maps/{wildcards.source}",
    message:
        "Mapping each zone over the {wildcards.source} radiance of {params.month}"
    script:
        "../scripts/map_zones_latest_month.py"
