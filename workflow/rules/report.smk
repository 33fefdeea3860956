# Figures and tables for `snakemake --report`: categories follow the pipeline stages.


rule choose_report_zones:
    input:
        table="results/zonal_stats.csv",
    output:
        shown=report(
            "results/report/zones_shown.csv",
            caption="../report/zones_shown.rst",
            category="1. Run",
            labels={"table": "zones plotted"},
        ),
    log:
        "logs/choose_report_zones.log",
    localrule: True
    conda:
        "../../envs/sezlights.yaml"
    params:
        zones=config["report"]["zones"],
        max_zones=config["report"]["max_zones"],
    message:
        "Choosing the zones the report plots one by one"
    script:
        "../scripts/choose_report_zones.py"


rule summarize_run_provenance:
    input:
        manifests=expand("results/manifests/{month}.json", month=MONTHS),
        zones_summary="results/zones_summary.json",
        shown="results/report/zones_shown.csv",
    output:
        tiles=report(
            "results/report/tiles.csv",
            caption="../report/tiles.rst",
            category="2. Tiles",
            labels={"table": "tiles used"},
        ),
        summary=report(
            "results/report/run_summary.html",
            caption="../report/run_summary.rst",
            category="1. Run",
            labels={"table": "run summary"},
        ),
    log:
        "logs/summarize_run_provenance.log",
    localrule: True
    conda:
        "../../envs/sezlights.yaml"
    params:
        months=MONTHS,
    message:
        "Writing the run's provenance: months, tiles and creation stamps, zones file, config"
    script:
        "../scripts/summarize_run_provenance.py"


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
        "logs/plot_all_zones_overview.log",
    localrule: True
    conda:
        "../../envs/sezlights.yaml"
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
            labels={"zone": "{zone}", "figure": "time series"},
        ),
    log:
        "logs/plot_zone_timeseries.log",
    benchmark:
        "benchmarks/plot_zone_timeseries.tsv"
    conda:
        "../../envs/sezlights.yaml"
    resources:
        mem_mb=1000,
        runtime=30,
    message:
        "Plotting each zone's night lights over the months run"
    script:
        "../scripts/plot_zone_timeseries.py"


rule map_zones_latest_month:
    input:
        archives=latest_month_archives,
        manifest=ancient(f"results/manifests/{MONTHS[-1]}.json"),
        zones="resources/zones.gpkg",
        shown="results/report/zones_shown.csv",
    output:
        maps=report(
            directory("results/report/maps"),
            patterns=["{zone}.png"],
            caption="../report/maps.rst",
            category="3. Mosaic",
            subcategory=f"Latest month ({MONTHS[-1]})",
            labels={"zone": "{zone}", "month": MONTHS[-1]},
        ),
    log:
        "logs/map_zones_latest_month.log",
    benchmark:
        "benchmarks/map_zones_latest_month.tsv"
    conda:
        "../../envs/sezlights.yaml"
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        month=MONTHS[-1],
        pixel_deg=PIXEL_DEG,
        # not the month's stats job's folder: each job clears stale files in its own
        scratch="resources/scratch/maps",
    message:
        "Mapping each zone over the radiance of {params.month}"
    script:
        "../scripts/map_zones_latest_month.py"
