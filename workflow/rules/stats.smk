rule compute_zone_stats:
    input:
        files=month_downloads,
        manifest=ancient("results/manifests/{source}/{month}.json"),
        index=lambda wildcards: f"resources/index/{GRID_OF[wildcards.source]}.npz",
        index_summary=lambda wildcards: f"resources/index/{GRID_OF[wildcards.source]}.json",
        areas="results/zones/areas.csv",
    output:
        # browsable in the report through the full table (results/report/zonal_stats.html)
        stats="results/stats/{source}/{month}.csv",
    log:
        "logs/stats/{source}/{month}.log",
    benchmark:
        "benchmarks/stats/{source}/{month}.tsv"
    conda:
        "../envs/stats.yaml"
    # the files the source's job reads at once (Source.stats_threads): EOG two, as ISA-L
    # decompresses without holding the GIL (~2x); Black Marble one, as libhdf5 runs
    # behind h5py's lock (two threads: 1.1-1.6x, bench/results-hdf5.json)
    threads: stats_threads
    resources:
        mem_mb=stats_mem_mb,
        runtime=60,
    params:
        weighting=config["stats"]["weighting"],
        min_cloud_free=config["stats"]["min_cloud_free"],
        source=source_settings,
        # the files read by window, as the listing found them: one replaced reruns the month
        remote=month_remote_files,
        # this job's own folder: it clears what a killed run left there
        scratch=lambda wildcards: f"resources/scratch/stats/{wildcards.source}/{wildcards.month}",
    message:
        "Computing per-zone statistics for {wildcards.source} {wildcards.month}"
    script:
        "../scripts/compute_zone_stats.py"
