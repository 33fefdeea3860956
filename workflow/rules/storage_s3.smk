# Workaround for snakemake-storage-plugin-s3 0.3.x (checked with 0.3.6, the newest on
# PyPI on 2026-12-02): it remembers that a key was not a "directory" (no objects under it)
# from the check made before a job ran; once the job has made the directory (uploaded
# by the main process after a local job, or by the job itself on AWS Batch), the main
# process waits for it in vain ("Missing files after 5 seconds ...
# results/report/by_zone (missing in storage)", tests/test_s3.py). Ask S3 again while
# the answer is no. Applied only where it is needed: when the run starts (never while
# the workflow is parsed), with S3 as the default storage, and for the plugin versions
# it was checked with; remove once the plugin re-checks on its own.
S3_PLUGIN_CHECKED = ("0.3.0", "0.4.0")  # from, up to (not included)


def s3_directories_seen_after_jobs():
    if workflow.storage_settings.default_storage_provider != "s3":
        return
    from importlib.metadata import version

    from packaging.version import Version

    installed = version("snakemake-storage-plugin-s3")
    low, high = (Version(v) for v in S3_PLUGIN_CHECKED)
    if not low <= Version(installed) < high:
        logger.warning(
            f"snakemake-storage-plugin-s3 {installed}: the workaround in "
            f"workflow/rules/storage_s3.smk was checked with {low} to {high} (excluded) and "
            "is not applied; if the run waits in vain for a directory a Batch job made "
            "(results/report/maps, results/report/timeseries), install "
            f"'snakemake-storage-plugin-s3>={low},<{high}'"
        )
        return
    from snakemake_storage_plugin_s3 import StorageObject

    is_dir = getattr(StorageObject, "is_dir", None)
    if is_dir is None or getattr(is_dir, "rechecks", False):
        return

    def is_dir_rechecked(self):
        if not getattr(self, "_is_dir", None):
            self._is_dir = None
        return is_dir(self)

    is_dir_rechecked.rechecks = True
    StorageObject.is_dir = is_dir_rechecked
