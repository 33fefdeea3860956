# Planning that needs the servers, as jobs: which months (months.end: latest) and which
# files each month needs (the manifests). Both are checkpoints: the rest of the DAG is
# planned from what they write. A listing carries the epoch of listings.refresh as a
# param, so a new epoch lists again, and only a month whose files changed reruns.


checkpoint find_latest_month:
    input:
        # the tiles holding some zone's pixels, per grid: one path from zones to tiles
        index_summaries=expand("resources/index/{grid}.json", grid=GRIDS),
    output:
        plan="results/plan/latest_month.json",
    log:
        "logs/find_latest_month.log",
    # the search retries inside the job; a refused login would only fail again
    retries: 0
    localrule: True
    conda:
        "../envs/download.yaml"
    params:
        epoch=latest_epoch,
        start=config["months"]["start"],
        sources=lambda wildcards: {name: dict(config.get(name, {})) for name in SOURCES},
        grids=GRID_OF,
    message:
        "Asking the servers for the newest month with every file the zones need"
    script:
        "../scripts/find_latest_month.py"


checkpoint list_month_files:
    input:
        index_summary=lambda wildcards: f"resources/index/{GRID_OF[wildcards.source]}.json",
        # the zones' pixels: which blocks of a file a window read would fetch
        index=lambda wildcards: f"resources/index/{GRID_OF[wildcards.source]}.npz",
    output:
        manifest="results/manifests/{source}/{month}.json",
    log:
        "logs/list_month_files/{source}/{month}.log",
    retries: 0
    localrule: True
    conda:
        "../envs/download.yaml"
    params:
        epoch=listing_epoch,
        source=source_settings,
        window_reads=window_reads,
        # the month's earlier downloads, only to say which files were republished
        downloaded=lambda wildcards: f"resources/files/{wildcards.source}/{wildcards.month}",
    message:
        "Listing the {wildcards.source} files of {wildcards.month} on the server"
    script:
        "../scripts/list_month_files.py"


def check_logins():
    """Say which credentials each source uses, and log in once to every source some job
    of this run lists, downloads or reads from (by window), before any job runs: a
    refused login is one message, not a failed job per month."""
    # source: the months its jobs list, download or read from (the login is tried on one)
    months = {}
    for job in workflow.dag.needrun_jobs():
        source = job.wildcards.get("source")
        if job.rule.name in ("list_month_files", "download_month_files") or (
            job.rule.name == "compute_zone_stats" and month_reads_remote(job.wildcards)
        ):
            months.setdefault(source, set()).add(job.wildcards.month)
        elif job.rule.name == "find_latest_month":
            for name in SOURCES:
                months.setdefault(name, set()).add(str(config["months"]["start"]))
    # listings not made yet: Snakemake adds a checkpoint's job to the DAG only once the
    # one before it (in the same input function) has run, so a source's first listing may
    # not be planned yet when the run starts
    for name in SOURCES:
        for month in FIXED_MONTHS or []:
            if not os.path.exists(f"results/manifests/{name}/{month}.json"):
                months.setdefault(name, set()).add(month)
    for name in sorted(n for n in months if n):
        logger.info(f"{name}: {SOURCE[name].credentials()}")
        try:
            SOURCE[name].check_login(month=min(months[name]))
        except UserError as exc:
            raise WorkflowError(str(exc)) from None


def check_executor_commands():
    """A cluster executor whose commands are not on this machine (the Slurm profile on a
    laptop) stops here, before any job is submitted, with one line naming the profile
    to use instead."""
    plugin = workflow.executor_plugin
    problem = executors.missing_commands(plugin.name if plugin is not None else None)
    if problem:
        raise WorkflowError(problem)


def keep_downloads_here():
    """download.local: auto: an executor whose jobs share no file system with this
    machine (AWS Batch) gets no download jobs, so no credential ever goes into a job
    definition; the files reach the jobs through the default storage instead."""
    plugin = workflow.executor_plugin
    if config["download"]["local"] == "auto" and plugin is not None:
        if plugin.common_settings.implies_no_shared_fs:
            workflow.localrules("download_month_files")
