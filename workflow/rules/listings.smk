# Listing the servers while the workflow is parsed (sezlights.listings), by the main
# Snakemake process only: `months.end: latest`, and the check for republished files.
import os

from sezlights import listings
from sezlights.errors import UserError

LATEST_FILE = "resources/latest_month.txt"
LATEST_ENV = "SEZLIGHTS_LATEST_MONTH"


def _latest_month():
    """The newest month whose needed files every source lists, looked up once.

    Jobs build the same DAG without listing the servers again: the main process
    hands the month to them in LATEST_ENV (inherited by local and cluster jobs,
    passed to cloud jobs as a declared envvar) and keeps it in LATEST_FILE for when
    the servers cannot be reached.
    """
    path = Path(LATEST_FILE)
    if not workflow.is_main_process:
        if os.environ.get(LATEST_ENV):
            return os.environ[LATEST_ENV]
        if path.exists():
            return path.read_text().strip()
    try:
        month, skipped = listings.latest_month(config, _index_tiles())
    except UserError as exc:
        if not path.exists():
            raise config_error(exc) from None
        month = path.read_text().strip()
        logger.warning(
            f"could not ask the servers for the latest month ({exc}); using {month}"
        )
    else:
        for line in skipped:
            logger.warning(f"months.end latest: {line}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{month}\n")
        logger.info(f"months.end latest: {month}")
    os.environ[LATEST_ENV] = month
    workflow.register_envvars(LATEST_ENV)
    return month


def _index_tiles():
    """{source: the tiles holding some zone's pixels}, from a pixel index made here for
    the zones of this config; sources without one are planned from the tiles near the
    zones (a superset). With a storage provider the index is not looked up."""
    if workflow.storage_registry.default_storage_provider is not None:
        return {}
    found = {}
    for name in SOURCES:
        tiles = listings.index_tiles(
            f"resources/index/{name}.json",
            "results/zones_summary.json",
            ZONES_FINGERPRINT,
            config,
        )
        if tiles is not None:
            found[name] = tiles
    return found


def _months():
    try:
        end = _latest_month() if str(config["months"]["end"]) == "latest" else None
        return settings.months(config, end)
    except UserError as exc:
        raise config_error(exc) from None


MONTHS = _months()


def _stored_manifests():
    """(source, local file, storage object or None) of each manifest made so far.

    In storage, one listing of the folder (the plugin's inventory, where it has
    one) answers for every month; each manifest found is fetched to its local copy.
    """
    from snakemake.io import IOCache

    found, listing = [], IOCache(0)
    for source in SOURCES:
        for month in MONTHS:
            path = f"results/manifests/{source}/{month}.json"
            obj = stored(path)
            if obj is None:
                if Path(path).exists():
                    found.append((source, Path(path), None))
                continue
            workflow.async_run(obj.inventory(listing))
            if listing.exists_in_storage:
                exists = listing.exists_in_storage.get(obj.cache_key(), False)
            else:
                exists = workflow.async_run(obj.managed_exists())
            if exists:
                workflow.async_run(obj.managed_retrieve())
                found.append((source, obj.local_path(), obj))
    return found


def _refresh_manifests():
    """List again every month that already has a manifest (main process only).

    A republished file (new creation stamp) rewrites that month's manifest (and
    puts it back in storage, if the run uses one): its newer file and new name
    re-run that month's download and stats, and the table; months whose listing
    is unchanged are not touched.
    """
    if not workflow.is_main_process:
        return
    manifests = _stored_manifests()
    if not manifests:
        return
    in_storage = {path: obj for _, path, obj in manifests}
    try:
        changes = listings.refresh(config, [(s, p) for s, p, _ in manifests])
    except UserError as exc:
        # offline, or --lint/--unlock/--report without the servers: carry on with
        # the stored manifests, and say so
        logger.warning(
            f"could not check the servers for republished files ({exc}); "
            "using the stored manifests"
        )
        return
    for path, change in changes:
        if in_storage.get(path) is not None:
            workflow.async_run(in_storage[path].managed_store())
        logger.warning(f"file republished: {change}; recomputing that month")


def stored(path):
    """The default storage's object for the workflow path ``path``, or None.

    With --default-storage-provider every output lives in storage (under
    --default-storage-prefix) and only a local copy, at ``.local_path()``, is read
    and written; without it the file at ``path`` is the output itself.
    """
    provider = workflow.storage_registry.default_storage_provider
    if provider is None:
        return None
    prefix = workflow.storage_settings.default_storage_prefix or ""
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return provider.object(f"{prefix}{os.path.normpath(path)}")


if config["source"]["refresh_listings"]:
    _refresh_manifests()


def _check_logins():
    """Log in once to every source some job of this run will list or download from,
    before any job runs: a refused login is one message, not a failed job per month."""
    needed = {
        job.wildcards.source
        for job in workflow.dag.needrun_jobs()
        if job.rule.name in ("list_month_files", "download_file")
    }
    for name in sorted(needed):
        try:
            SOURCE[name].session()
        except UserError as exc:
            raise WorkflowError(str(exc)) from None


def _keep_downloads_here():
    """download.local: auto: an executor whose jobs share no file system with this
    machine (AWS Batch) gets no download jobs, so no credential ever goes into a job
    definition; the files reach the jobs through the default storage instead."""
    plugin = workflow.executor_plugin
    if config["download"]["local"] == "auto" and plugin is not None:
        if plugin.common_settings.implies_no_shared_fs:
            workflow.localrules("download_file")


onstart:
    _keep_downloads_here()
    _check_logins()
