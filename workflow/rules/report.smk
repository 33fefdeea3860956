# Figures and tables for `snakemake --report`: categories follow the pipeline stages.


rule summarize_run_provenance:
    input:
        manifests=expand("results/manifests/{month}.json", month=MONTHS),
        zones_summary="results/zones_summary.json",
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


rule plot_zone_timeseries:
    input:
        table="results/zonal_stats.csv",
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
        scratch=f"resources/scratch/{MONTHS[-1]}",
    message:
        "Mapping each zone over the radiance of {params.month}"
    script:
        "../scripts/map_zones_latest_month.py"
