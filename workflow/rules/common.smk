# Config checks, the month list, paths and input functions shared by every stage.
import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace

# The logic lives in the sezlights package under src/. Make it importable here and
# in every job (script jobs inherit PYTHONPATH), installed or not, in any
# environment (local, conda, container, cluster).
SRC = str(Path(workflow.basedir).parent / "src")
sys.path.insert(0, SRC)
os.environ.update(
    PYTHONPATH=os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")]))
)

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import validate

from sezlights.errors import UserError
from sezlights.months import month_range

validate(config, schema="../../config/config.schema.yaml")

PIXEL_DEG = config["source"]["pixel_arcsec"] / 3600.0
KEEP_TILES = config["download"]["keep"]
KEEP_MOSAIC = config["mosaic"]["keep"]
LATEST_FILE = "resources/latest_month.txt"
LATEST_ENV = "SEZLIGHTS_LATEST_MONTH"


wildcard_constraints:
    month=r"\d{4}-\d{2}",
    archive=r"SVDNB_npp_[^/]+\.tgz",


def _latest_month():
    """Newest month on the server, looked up once by the main process.

    Jobs build the same DAG without listing the server again: the main process
    hands the month to them in LATEST_ENV (inherited by local and cluster jobs,
    passed to cloud jobs, which share no disk with it, as a declared envvar) and
    keeps it in LATEST_FILE as a fallback for when the server cannot be reached.
    """
    path = Path(LATEST_FILE)
    if not workflow.is_main_process:
        if os.environ.get(LATEST_ENV):
            return os.environ[LATEST_ENV]
        if path.exists():
            return path.read_text().strip()
    from sezlights.discover import latest_month
    from sezlights.http import get_token, make_session

    src = config["source"]
    try:
        session = make_session(token=get_token(src["auth"]))
        month = latest_month(session, src["base_url"], src["product"])
    except UserError as exc:
        if not path.exists():
            raise
        month = path.read_text().strip()
        logger.warning(
            f"could not ask the server for the latest month ({exc}); using {month}"
        )
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{month}\n")
    os.environ[LATEST_ENV] = month
    workflow.register_envvars(LATEST_ENV)
    return month


def _months():
    end = config["months"]["end"]
    try:
        if str(end) == "latest":
            end = _latest_month()
        return month_range(config["months"]["start"], end)
    except UserError as exc:
        raise WorkflowError(f"config error: {exc}") from None


MONTHS = _months()


def stored(path):
    """The default storage's object for the workflow path ``path``, or None.

    With --default-storage-provider every output lives in storage (under
    --default-storage-prefix) and only a local copy, at ``.local_path()``, is
    read and written; without it the file at ``path`` is the output itself.
    """
    provider = workflow.storage_registry.default_storage_provider
    if provider is None:
        return None
    prefix = workflow.storage_settings.default_storage_prefix or ""
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return provider.object(f"{prefix}{os.path.normpath(path)}")


def _stored_manifests():
    """(local file, storage object or None) of each month's manifest made so far.

    In storage, one listing of the folder (the plugin's inventory, where it has
    one) answers for every month; each manifest found is fetched to its local copy.
    """
    from snakemake.io import IOCache

    found, listing = [], IOCache(0)
    for month in MONTHS:
        path = f"results/manifests/{month}.json"
        obj = stored(path)
        if obj is None:
            if Path(path).exists():
                found.append((Path(path), None))
            continue
        workflow.async_run(obj.inventory(listing))
        if listing.exists_in_storage:
            exists = listing.exists_in_storage.get(obj.cache_key(), False)
        else:
            exists = workflow.async_run(obj.managed_exists())
        if exists:
            workflow.async_run(obj.managed_retrieve())
            found.append((obj.local_path(), obj))
    return found


def _refresh_manifests():
    """List again every month that already has a manifest (main process only).

    A republished tile (new creation stamp) rewrites that month's manifest (and
    puts it back in storage, if the run uses one): its newer file and new archive
    name re-run that month's download, mosaic and stats, and the table; months
    whose listing is unchanged are not touched.
    """
    if not workflow.is_main_process:
        return
    manifests = _stored_manifests()
    if not manifests:
        return
    from concurrent.futures import ThreadPoolExecutor

    from sezlights.discover import refresh_manifest
    from sezlights.http import get_token, make_session

    src = config["source"]
    try:
        session = make_session(retries=2, backoff=0.5, token=get_token(src["auth"]))
        with ThreadPoolExecutor(max_workers=8) as pool:
            changes = list(
                pool.map(
                    lambda m: refresh_manifest(
                        session, m[0], src["base_url"], src["product"]
                    ),
                    manifests,
                )
            )
    except UserError as exc:
        # Offline, or a --lint/--unlock/--report without the server: carry on with
        # the stored manifests, and say so.
        logger.warning(
            f"could not check the server for republished tiles ({exc}); "
            "using the stored manifests"
        )
        return
    for change, (_, obj) in zip(changes, manifests):
        if change:
            if obj is not None:
                workflow.async_run(obj.managed_store())
            logger.warning(f"tile republished: {change}; recomputing that month")


def _s3_directories_seen_after_remote_jobs():
    """Let the main process see a directory() output a remote job put in S3.

    snakemake-storage-plugin-s3 (0.3.x) remembers that a key was not a "directory"
    (no objects under it) from the check made before the job ran; when the job ran
    elsewhere (AWS Batch) and uploaded the directory itself, the main process would
    wait for it in vain. Ask S3 again while the answer is no.
    """
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


if config["source"]["refresh_listings"]:
    _refresh_manifests()


def kept_mosaics():
    """Every month's mosaic when mosaic.keep is set; otherwise none is made."""
    if not KEEP_MOSAIC:
        return []
    bands = ["avg_rade9h", "cf_cvg"]
    return expand("resources/mosaic/{month}/{band}.tif", month=MONTHS, band=bands)


def latest_month_archives(wildcards):
    """The tile archives of the last month run (for the report's maps)."""
    return tile_archives(SimpleNamespace(month=MONTHS[-1]))


def maybe_temp(path, keep):
    return path if keep else temp(path)


def manifest(month):
    with checkpoints.discover_month_tiles.get(month=month).output.manifest.open() as f:
        return json.load(f)


def tile_archives(wildcards):
    """The month's needed archives, named with their creation stamps.

    A republished tile has a new stamp, hence a new file name: only its month
    downloads it and recomputes.
    """
    return [
        f"resources/tiles/{wildcards.month}/{t['name']}"
        for t in manifest(wildcards.month)["tiles"]
    ]
