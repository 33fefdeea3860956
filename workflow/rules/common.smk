# Config, helpers and input functions shared by the stages. Parsing does no work: no
# network, no file written, and one environment variable (SEZLIGHTS_SOURCE, below).
# Planning that needs the servers is done by jobs (plan.smk).
import datetime as dt
import json
import os

from snakemake.exceptions import IncompleteCheckpointException, WorkflowError
from snakemake.logging import logger
from snakemake.utils import validate

try:
    import sezlights
except ImportError:
    raise WorkflowError(
        "the sezlights package is not installed in this Python: run `make setup` "
        "(or `pip install -e .` in the pipeline's folder) and use that environment."
    ) from None

from sezlights import config as settings
from sezlights import executors
from sezlights import labels as figure_names
from sezlights import memory
from sezlights import sources as data_sources
from sezlights import zones as zone_files
from sezlights import areas as zone_areas
from sezlights import attributes as zone_attributes
from sezlights.errors import ConfigError, UserError
from sezlights.manifest import STALE as STALE_LISTING
from sezlights.manifest import Manifest
from sezlights.redact import redact

# The checkout this workflow runs from (standalone, or as a module of another workflow).
# The one environment variable parsing sets: with --sdm conda, Snakemake copies each
# environment's post-deploy script (workflow/envs/) into the conda prefix, from where it
# cannot find this checkout to install the sezlights package; it reads it here. Every
# process computes it from its own Snakefile's place, so it carries nothing between
# processes. (The folder of this file itself: workflow.source_path would give a copy in
# Snakemake's source cache.)
PACKAGE_SOURCE_ENV = "SEZLIGHTS_SOURCE"
os.environ[PACKAGE_SOURCE_ENV] = os.path.normpath(
    workflow.current_basedir.join("../..").get_path_or_uri(secret_free=True)
)


def config_error(exc):
    return WorkflowError(f"config error: {exc}")


# ---------------------------------------------------------------- zones: points, rings, timing


def check_zone_settings(zones):
    """The zones' settings that need no file read: rings in increasing distances, kept
    fields that do not take a column name of the table, longitude and latitude columns
    given together and with a radius."""
    zone_areas.check_rings(zones["rings_km"])
    zone_attributes.check_fields(zones["keep_fields"], zones["start_field"])
    if bool(zones["lon_field"]) != bool(zones["lat_field"]):
        raise ConfigError(
            "zones.lon_field and zones.lat_field go together: set both (the longitude "
            "and latitude columns of a zones table of points), or neither."
        )
    if zones["lon_field"] and not zones["point_radius_km"]:
        raise ConfigError(
            "zones.lon_field and zones.lat_field give the zones as points: set "
            "zones.point_radius_km to the radius in km of the disc to count around each."
        )


def event_study_wanted():
    """The event-study figure is drawn when the zones have start dates."""
    return bool(config["zones"]["start_field"])


for _note in settings.upgrade(config):
    logger.warning(_note)
validate(config, schema="../schemas/config.schema.yaml")

try:
    SOURCES = data_sources.configured(config)
    SOURCE = {name: data_sources.get(name, config) for name in SOURCES}
    END_LATEST = str(config["months"]["end"]) == "latest"
    # a fixed range is checked now; `latest` is decided by a job (find_latest_month)
    FIXED_MONTHS = None if END_LATEST else settings.months(config)
    check_zone_settings(config["zones"])
except UserError as exc:
    raise config_error(exc) from None

GRID_OF = {name: SOURCE[name].grid.key for name in SOURCES}
GRIDS = sorted(set(GRID_OF.values()))
KEEP_FILES = config["download"]["keep"]
KEEP_MOSAIC = config["mosaic"]["keep"]
ZONES_PATH = config["zones"]["path"]
# download.local: true or false; auto is decided when the run starts (plan.smk, onstart),
# once the executor is known
DOWNLOAD_LOCAL = config["download"]["local"] is True
RUN_STARTED = dt.datetime.now(dt.UTC)


wildcard_constraints:
    source="|".join(SOURCES),
    grid="|".join(GRIDS),
    month=r"\d{4}-\d{2}",


# ---------------------------------------------------------------- settings as params
# Every setting a job reads reaches it as a params value, so that Snakemake reruns the
# job when it changes (scripts read nothing else of the config, but download.* network
# settings, which change how files are fetched, never what they hold).


def window_reads(wildcards=None):
    """Which sources a statistics job may read from the server by window (a listing's
    params value): none where the jobs' machines may not reach the internet
    (download.local: true), only those without a login where the jobs share no file
    system with this machine (AWS Batch: no credential goes into a job definition), all
    otherwise. The executor is known when the workflow is parsed; under --report and
    --list-changes (no executor) the value of a normal run is taken."""
    if config["download"]["local"] is True:
        return "none"
    plugin = workflow.executor_plugin
    if (
        config["download"]["local"] == "auto"
        and plugin is not None
        and plugin.common_settings.implies_no_shared_fs
    ):
        return "anonymous"
    return "all"


def source_settings(wildcards):
    """The source's own config block (what it lists, reads and how it labels)."""
    return {
        "name": wildcards.source,
        "settings": dict(config.get(wildcards.source, {})),
    }


def grid_settings(key):
    """The settings of a source on grid ``key`` (its lattice and tiles come from them)."""
    name = next(n for n in SOURCES if GRID_OF[n] == key)
    return {"name": name, "settings": dict(config.get(name, {}))}


def grid_source(wildcards):
    return grid_settings(wildcards.grid)


def zones_fingerprint(wildcards):
    """The zones' content identity (every file of the dataset), a params value of
    prepare_zones: when it changes, the zones are prepared again, whatever the files'
    timestamps say (an edited .dbf, an older copy put back with cp -p). Read only when
    prepare_zones is planned (in the main process: the zones file is the user's). A job
    run elsewhere (AWS Batch) plans prepare_zones too, as its outputs' maker, without
    the user's file: there it is never run, so its identity is not needed."""
    if not workflow.is_main_process and not os.path.exists(ZONES_PATH):
        return "the zones file is read by the main process"
    try:
        return zone_files.fingerprint(ZONES_PATH)
    except UserError as exc:
        raise WorkflowError(str(exc)) from None


# A zones file that no longer exists always stops the run (the main process reads it;
# jobs elsewhere need not see it): reading whether it is there changes nothing.
if workflow.is_main_process and not os.path.exists(ZONES_PATH):
    raise WorkflowError(zone_files.missing_zones_message(ZONES_PATH))


def zones_sidecars():
    """The zones file's sidecars (a Shapefile's .dbf, .prj, ...); as for the file itself,
    their times do not matter, their content does (zones_fingerprint)."""
    return [ancient(local(str(p))) for p in zone_files.dataset_files(ZONES_PATH)[1:]]


def _stored(checkpoint, **wildcards):
    """A checkpoint's output as a local path to read, or None if it is not there. Asked
    only when nothing runs (--report, --list-changes), where Snakemake may not have
    looked yet; in storage (S3), the plugin fetches it."""
    try:
        out = checkpoint.get(**wildcards).output[0]
    except IncompleteCheckpointException as exc:
        out = exc.targetfile
    path = _local(out)
    return str(path) if os.path.exists(path) else None


def _epoch(checkpoint, **wildcards):
    """The epoch a listing is made under (listings.refresh): a new epoch lists again,
    and only a month whose files changed reruns. `snakemake --report` keeps the epoch the
    listing was made under (in its output), so a report never plans a listing. (A params
    function, of the wildcards only: Snakemake tracks no param derived from input or
    output.)"""
    if workflow.executor_plugin is None:  # --report, --list-changes: nothing runs
        stored = _stored(checkpoint, **wildcards)
        try:
            with open(stored, encoding="utf-8") as f:
                return json.load(f)["epoch"]
        except (TypeError, OSError, ValueError, KeyError):
            pass
    return settings.listing_epoch(
        config["listings"]["refresh"], run=RUN_STARTED.isoformat(timespec="seconds")
    )


def listing_epoch(wildcards):
    """The listing's epoch; a month whose listing a job found stale (a file changed on
    the server since) gets a new one, so that it is listed again."""
    epoch = _epoch(
        checkpoints.list_month_files, source=wildcards.source, month=wildcards.month
    )
    path = f"results/manifests/{wildcards.source}/{wildcards.month}.json"
    if workflow.executor_plugin is not None and os.path.exists(path + STALE_LISTING):
        epoch += f" (stale since {os.path.getmtime(path + STALE_LISTING):.0f})"
    return epoch


def latest_epoch(wildcards):
    return _epoch(checkpoints.find_latest_month)


# ---------------------------------------------------------------- months and manifests


def run_months():
    """The months of the run: the configured range, or up to the month find_latest_month
    chose (a checkpoint: asking for it plans that job first)."""
    if not END_LATEST:
        return FIXED_MONTHS
    with checkpoints.find_latest_month.get().output.plan.open() as f:
        end = json.load(f)["month"]
    return settings.months(config, end)


def month_plan(wildcards=None):
    """The plan a job's month params come from (an input where months.end is latest:
    Snakemake wants a checkpoint's output among the inputs of a rule whose params read it).
    """
    return ["results/plan/latest_month.json"] if END_LATEST else []


def latest_run_month():
    return run_months()[-1]


def month_manifest(source, month):
    """The month's manifest (list_month_files, a checkpoint: read once it has run)."""
    out = checkpoints.list_month_files.get(source=source, month=month).output.manifest
    with out.open() as f:  # IOFile.open: fetched from the default storage if there
        return Manifest.from_dict(json.load(f))


def month_download_names(wildcards):
    """The month's whole files by name (names carry the server's stamps)."""
    return month_manifest(wildcards.source, wildcards.month).download_names()


def month_downloads(wildcards):
    """The month's downloaded files (a folder), if it downloads any (none when every
    granule is read by window)."""
    m = month_manifest(wildcards.source, wildcards.month)
    return (
        [f"resources/files/{wildcards.source}/{wildcards.month}"]
        if m.downloads()
        else []
    )


def month_remote_files(wildcards):
    """The identity of every file the month reads by window (name, size, ETag, time): a
    params value, so a file the server replaced reruns its month's statistics."""
    m = month_manifest(wildcards.source, wildcards.month)
    return [list(i) for i in m.identity() if i[1] == "window"]


def month_reads_remote(wildcards):
    """Whether the month's statistics read some file from the server (by window)."""
    try:
        return bool(month_remote_files(wildcards))
    except IncompleteCheckpointException:  # not listed yet: its listing logs in
        return False


def latest_month_downloads(wildcards):
    month = latest_run_month()
    m = month_manifest(wildcards.source, month)
    return [f"resources/files/{wildcards.source}/{month}"] if m.downloads() else []


def all_manifests(wildcards=None):
    """Every month's manifest; while some listing has still to run, those listings, all
    at once (checkpoint targets: asked again as each finishes), so that the months are
    listed side by side, not one after another."""
    pending = pending_listings()
    if pending:
        return pending
    return [
        checkpoints.list_month_files.get(source=s, month=m).output.manifest
        for s in SOURCES
        for m in run_months()
    ]


def listed_manifests(wildcards=None):
    """Every month's manifest as the input of a job that reads them, by content, not by
    time (a re-listing rewrites each one): with manifest_digests as its params, the job
    reruns only when a listing finds something new."""
    return [ancient(path) for path in all_manifests()]


def manifest_digests(wildcards=None):
    return [month_manifest(s, m).digest() for s in SOURCES for m in run_months()]


def latest_manifest(wildcards):
    return ancient(f"results/manifests/{wildcards.source}/{latest_run_month()}.json")


def latest_manifest_digest(wildcards):
    return month_manifest(wildcards.source, latest_run_month()).digest()


def stats_tables(wildcards=None):
    """Every month's table. Each month's listing is asked for first: once a re-listing
    finds nothing changed, the combined table is then not made again. While some months
    are still being listed, their listings and the tables of the months listed: a month's
    download starts as soon as its own listing is done.

    Not with a default storage (S3): there a job planned while a listing still runs runs
    beside it, and the DAG update when that listing ends asks S3 for the mtime of the
    running download's folder, emptied before the job, which snakemake-storage-plugin-s3
    0.3.6 fails on (`max()` of no keys; tests/test_s3.py, docs/evidence/snakemake.md):
    the months' tables then wait for every listing."""
    pending, listed = listing_progress()
    if pending and workflow.storage_settings.default_storage_provider is not None:
        return pending
    return [
        *pending,
        *(f"results/stats/{source}/{month}.csv" for source, month in listed),
    ]


def kept_mosaics(wildcards=None):
    """Every month's mosaic when mosaic.keep is set; otherwise none is made."""
    if not KEEP_MOSAIC:
        return []
    return expand(
        "resources/mosaic/{source}/{month}/{band}.tif",
        source=SOURCES,
        month=run_months(),
        band=["radiance", "coverage"],
    )


def listing_progress():
    """(pending, listed): the manifests whose listing (a checkpoint) Snakemake has not yet
    seen done, flagged as checkpoint targets (the exception's own target: Snakemake asks
    again once each is done or found up to date, however many there are), and the
    (source, month) pairs listed. With nothing to run (--report), a manifest there is
    the one the report uses."""
    pending, listed = [], []
    for source in SOURCES:
        for month in run_months():
            try:
                checkpoints.list_month_files.get(source=source, month=month)
            except IncompleteCheckpointException as exc:
                if workflow.executor_plugin is None and _stored(
                    checkpoints.list_month_files, source=source, month=month
                ):
                    listed.append((source, month))
                    continue
                pending.append(exc.targetfile)
            else:
                listed.append((source, month))
    return pending, listed


def pending_listings():
    return listing_progress()[0]


def run_targets(wildcards):
    """What a run makes. The month plan and every listing are asked for first: while
    some listing has still to run, the run's targets are those listings, all at once
    (not one month after another), and this is asked again as each finishes (the job
    depends on them); a re-listing that changes nothing then leaves nothing to do (a job
    planned before a checkpoint keeps its reasons).

    The per-month tables are targets themselves, not only the combined table's inputs:
    Snakemake remakes a missing file only for a job that runs, so a per-month table
    deleted after the table was made (an interrupted --forcerun) would stay missing."""
    pending = pending_listings()
    if pending:
        return stats_tables()
    return [
        *stats_tables(),
        "results/zonal_stats.csv",
        "results/zonal_stats.parquet",
        "results/zonal_stats_wide.csv",
        "results/README.txt",
        "results/run.json",
        *report_outputs(),
        *kept_mosaics(),
    ]


def download_slots():
    """A resource per configured source's download limit (its ``download_resource``), of
    which a download job takes one: that of the job's own source."""
    names = sorted({src.download_resource for src in SOURCE.values()})
    return {
        name: lambda wildcards, name=name: int(
            SOURCE[wildcards.source].download_resource == name
        )
        for name in names
    }


def maybe_temp(path, keep):
    return path if keep else temp(path)


# ---------------------------------------------------------------- resources
# Memory is declared from the inputs (sezlights.memory), so that a profile can
# schedule the jobs: pixel counts come from the zones summary (before the index
# exists) and the index summary (after). Until those files exist Snakemake shows
# <TBD>, and evaluates the functions again just before the job runs.


def _local(path):
    """A small input a memory estimate reads. In storage (AWS Batch with S3), the main
    process plans the job without a local copy (Snakemake removes the ones its local
    jobs used): fetch it with the plugin's own synchronous retrieve, or the value would
    be <TBD> and the Batch submission fail."""
    if not os.path.exists(path) and getattr(path, "is_storage", False):
        obj = path.storage_object
        if obj.exists():  # not yet made (a dry run, planning ahead): stays <TBD>
            os.makedirs(os.path.dirname(str(path)) or ".", exist_ok=True)
            obj.retrieve_object()
    return path


def _read_json(path):
    with open(_local(path)) as f:  # builtin open: a file still missing makes it <TBD>
        return json.load(f)


def index_mem_mb(wildcards, input, attempt):
    return memory.index_mb(_read_json(input.summary)["grids"][wildcards.grid], attempt)


def stats_threads(wildcards):
    return SOURCE[wildcards.source].stats_threads


def stats_mem_mb(wildcards, input, attempt):
    return memory.stats_mb(_read_json(input.index_summary)["pixels"], attempt)


def maps_mem_mb(wildcards, input, attempt):
    with open(_local(input.shown)) as f:
        shown = max(0, sum(1 for _ in f) - 1)
    return memory.maps_mb(shown, MAP_PIXELS, attempt)


def table_mem_mb(wildcards, input, attempt):
    try:  # local files (input.size_mb would warn under --report)
        mb = sum(os.path.getsize(f) for f in input) / 1e6
    except FileNotFoundError:  # in a storage provider: its own size lookup
        mb = input.size_mb
    return memory.table_mb(mb, attempt)


# ---------------------------------------------------------------- report

MAP_PIXELS = 600  # a map is read decimated to at most this many pixels across


def report_outputs(wildcards=None):
    out = [
        "results/report/run_summary.html",
        "results/report/files.html",
        "results/report/zones_shown.html",
        "results/report/zonal_stats.html",
        "results/report/by_zone",
        "results/report/overview.png",
        "results/report/timeseries",
        *expand("results/report/maps/{source}", source=SOURCES),
    ]
    if len(SOURCES) > 1:
        out.append("results/report/sources_scatter.png")
    if event_study_wanted():
        out.append("results/report/event_study.png")
    if "blackmarble" in SOURCES and len(SOURCE["blackmarble"].products) > 1:
        out += [
            "results/report/satellites.png",
            "results/report/satellites_by_zone.html",
        ]
    return out


def zone_figure_labels(**fixed):
    """Labels of the figures of a directory named by zone file stem: the zone id
    exactly as written (the plotting job writes {stem: id} to zones.json next to
    them), then `fixed` (a value may be a function, called when the report is made).
    Snakemake accepts a function for the whole labels dict only.
    """

    def labels(wildcards, output):
        values = {k: v() if callable(v) else v for k, v in fixed.items()}
        return figure_names.figure_labels(wildcards.zone, output[0], **values)

    return labels


def table_page_labels(wildcards, output):
    """Label of a page of the table by zone: what its job wrote to pages.json (the
    zone ids it runs from and to, as written)."""
    try:
        with open(os.path.join(output.by_zone, "pages.json"), encoding="utf-8") as f:
            text = json.load(f).get(wildcards.page, "by zone")
    except FileNotFoundError:
        text = "by zone"
    return {"table": figure_names.label(text)}
