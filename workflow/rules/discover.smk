checkpoint list_month_files:
    input:
        # which tiles hold some zone's pixels
        index_summary="resources/index/{source}.json",
    output:
        manifest="results/manifests/{source}/{month}.json",
    log:
        "logs/list_month_files/{source}/{month}.log",
    # the listing retries inside the job; a failed login or a missing month would
    # only fail again
    retries: 0
    localrule: True
    conda:
        "../envs/zones.yaml"
    message:
        "Listing the {wildcards.source} files of {wildcards.month} on the server"
    script:
        "../scripts/list_month_files.py"
