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
        manifests=listed_manifests,
        index_summaries=expand("resources/index/{grid}.json", grid=GRIDS),
        zones_summary="results/zones_summary.json",
        shown="results/report/zones_shown.csv",
        table="results/zonal_stats.csv",
        plan=month_plan,
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
        months=lambda wildcards: run_months(),
        listed=manifest_digests,
        sources={name: SOURCE[name].provenance() for name in SOURCES},
        config=lambda wildcards: redact(config),
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
            subcategory="Sources compared",
            labels={"zone": "all zones", "figure": "one source against another"},
        ),
    log:
        "logs/report/compare_sources.log",
    localrule: True
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=table_mem_mb,
    message:
        "Comparing the sources zone-month by zone-month"
    script:
        "../scripts/compare_sources.py"


rule map_zones_latest_month:
    input:
        files=latest_month_downloads,
        manifest=latest_manifest,
        zones="resources/zones.gpkg",
        shown="results/report/zones_shown.csv",
        plan=month_plan,
    output:
        maps=report(
            directory("results/report/maps/{source}"),
            patterns=["{zone}.png"],
            caption="../report/maps.rst",
            category="3. Maps",
            subcategory="{source}, latest month",
            labels=zone_figure_labels(source="{source}", month=latest_run_month),
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
        month=lambda wildcards: latest_run_month(),
        listed=latest_manifest_digest,
        max_pixels=MAP_PIXELS,
        min_cloud_free=config["stats"]["min_cloud_free"],
        source=source_settings,
        # not the month's stats job's folder: each job clears stale files in its own
        scratch=lambda wildcards: f"resources/scratch/maps/{wildcards.source}",
    message:
        "Mapping each zone over the {wildcards.source} radiance of {params.month}"
    script:
        "../scripts/map_zones_latest_month.py"


rule compare_satellites:
    input:
        table="results/zonal_stats.csv",
    output:
        figure=report(
            "results/report/satellites.png",
            caption="../report/satellites.rst",
            category="4. Statistics",
            subcategory="Satellites compared",
            labels={"zone": "all zones", "figure": "NOAA-20 vs Suomi NPP"},
        ),
        zones="results/report/satellites_by_zone.csv",
        html=report(
            "results/report/satellites_by_zone.html",
            caption="../report/satellites.rst",
            category="4. Statistics",
            subcategory="Satellites compared",
            labels={"zone": "zone by zone", "figure": "NOAA-20 vs Suomi NPP"},
        ),
    log:
        "logs/report/compare_satellites.log",
    localrule: True
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=table_mem_mb,
    params:
        source="blackmarble",
    message:
        "Comparing NOAA-20 with Suomi NPP over the months both flew"
    script:
        "../scripts/compare_satellites.py"


# zones.start_field set: mean radiance by months since each zone's start, the zones
# against their first ring (report_outputs asks for it only then)
rule plot_event_study:
    input:
        table="results/zonal_stats.csv",
    output:
        figure=report(
            "results/report/event_study.png",
            caption="../report/event_study.rst",
            category="4. Statistics",
            subcategory="Event study",
            labels={"zone": "all zones", "figure": "months since start"},
        ),
    log:
        "logs/report/plot_event_study.log",
    localrule: True
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=table_mem_mb,
    params:
        window=config["report"]["event_window_months"],
    message:
        "Plotting mean radiance by months since each zone's start"
    script:
        "../scripts/plot_event_study.py"
