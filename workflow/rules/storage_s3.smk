# Workaround for snakemake-storage-plugin-s3 0.3.x (checked with 0.3.6): it remembers
# that a key was not a "directory" (no objects under it) from the check made before
# a job ran; when the job ran elsewhere (AWS Batch) and uploaded the directory
# itself, the main process would wait for it in vain. Ask S3 again while the
# answer is no. Remove once the plugin re-checks on its own.


def _s3_directories_seen_after_remote_jobs():
    if workflow.storage_settings.default_storage_provider != "s3":
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


_s3_directories_seen_after_remote_jobs()
