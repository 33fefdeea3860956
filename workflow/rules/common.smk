# Config helpers and input functions shared by the stages. No network here: the
# parse-time listings are in listings.smk.
import json
import os
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import validate

try:
    import sezlights
except ImportError:
    raise WorkflowError(
        "the sezlights package is not installed in this Python: run `make setup` "
        "(or `pip install -e .` in the pipeline's folder) and use that environment."
    ) from None

# The checkout this workflow runs from (standalone, or as a module of another workflow):
# with --sdm conda, each job environment's post-deploy script (workflow/envs/) installs
# the sezlights package from it. Set in every process: a job deploys its own. (The folder
# of this file itself: workflow.source_path would give a copy in Snakemake's temporary
# source cache.)
PACKAGE_SOURCE_ENV = "SEZLIGHTS_SOURCE"
os.environ[PACKAGE_SOURCE_ENV] = os.path.normpath(
    workflow.current_basedir.join("../..").get_path_or_uri(secret_free=True)
)

from sezlights import config as settings
from sezlights import memory
from sezlights import labels as figure_names
from sezlights import sources as data_sources
from sezlights import zones as zone_files
from sezlights.errors import UserError

for _note in settings.upgrade(config):
    logger.warning(_note)
validate(config, schema="../schemas/config.schema.yaml")

SOURCES = data_sources.configured(config)
SOURCE = {name: data_sources.get(name, config) for name in SOURCES}
KEEP_FILES = config["download"]["keep"]


# download.local: true or false; auto is decided when the run starts (listings.smk,
# onstart), once the executor is known
DOWNLOAD_LOCAL = config["download"]["local"] is True
KEEP_MOSAIC = config["mosaic"]["keep"]
ZONES_PATH = config["zones"]["path"]


wildcard_constraints:
    source="|".join(SOURCES),
    month=r"\d{4}-\d{2}",
    file=r"[^/]+",


def config_error(exc):
    return WorkflowError(f"config error: {exc}")


ZONES_ENV = "SEZLIGHTS_ZONES_FINGERPRINT"


def zones_identity():
    """The zones' content identity (every file of the dataset), checked on every run.

    A params value: when it changes, the zones are prepared again, whatever the
    files' timestamps say (an edited .dbf, an older copy put back with cp -p).

    Only the main Snakemake process reads the zones file: it is the user's, and may
    be where no job can see it (AWS Batch jobs get only the files git tracks, below
    10 MB). Jobs get the value in ZONES_ENV (inherited by local and cluster jobs,
    passed to cloud jobs as a declared envvar), so they build the same DAG.
    """
    if not workflow.is_main_process and os.environ.get(ZONES_ENV):
        return os.environ[ZONES_ENV]
    try:
        fingerprint = zone_files.fingerprint(ZONES_PATH)
    except UserError as exc:
        if not workflow.is_main_process:
            # a job only runs its own step, never prepare_zones (a localrule): the
            # fingerprint of files it cannot see decides nothing there
            return "unknown in this job"
        raise WorkflowError(str(exc)) from None
    os.environ[ZONES_ENV] = fingerprint
    workflow.register_envvars(ZONES_ENV)
    return fingerprint


ZONES_FINGERPRINT = zones_identity()


def zones_sidecars():
    """The zones file's sidecars (a Shapefile's .dbf, .prj, ...); as for the file itself,
    their times do not matter, their content does (ZONES_FINGERPRINT)."""
    return [ancient(local(str(p))) for p in zone_files.dataset_files(ZONES_PATH)[1:]]


def download_slots():
    """A resource per configured source's download limit (its ``resource``), of which a
    download job takes one: that of the job's own source."""
    names = sorted({src.resource for src in SOURCE.values()})
    return {
        name: lambda wildcards, name=name: int(
            SOURCE[wildcards.source].resource == name
        )
        for name in names
    }


def maybe_temp(path, keep):
    return path if keep else temp(path)


def manifest(source, month):
    out = checkpoints.list_month_files.get(source=source, month=month).output.manifest
    with out.open() as f:  # IOFile.open: fetched from the default storage if there
        return json.load(f)


def month_files(wildcards):
    """The month's needed files, named as the server names them (creation stamps
    included): a republished file has a new name, so only its month reruns."""
    m = manifest(wildcards.source, wildcards.month)
    return [
        f"resources/files/{wildcards.source}/{wildcards.month}/{f['name']}"
        for f in m["files"]
    ]


def latest_month_files(wildcards):
    return month_files(type("W", (), {"source": wildcards.source, "month": MONTHS[-1]}))


def stats_tables():
    return expand("results/stats/{source}/{month}.csv", source=SOURCES, month=MONTHS)


def all_manifests():
    return expand(
        "results/manifests/{source}/{month}.json", source=SOURCES, month=MONTHS
    )


def kept_mosaics():
    """Every month's mosaic when mosaic.keep is set; otherwise none is made."""
    if not KEEP_MOSAIC:
        return []
    return expand(
        "resources/mosaic/{source}/{month}/{band}.tif",
        source=SOURCES,
        month=MONTHS,
        band=["radiance", "coverage"],
    )


# ---------------------------------------------------------------- resources
# Memory is declared from the inputs (sezlights.memory), so that a profile can
# schedule the jobs: pixel counts come from the zones summary (before the index
# exists) and the index summary (after). Until those files exist Snakemake shows
# <TBD>, and evaluates the functions again just before the job runs.


def _read_json(path):
    with open(path) as f:  # builtin open: a missing file makes the value <TBD>
        return json.load(f)


def index_mem_mb(wildcards, input, attempt):
    return memory.index_mb(
        _read_json(input.summary)["grids"][wildcards.source], attempt
    )


def stats_mem_mb(wildcards, input, attempt):
    return memory.stats_mb(_read_json(input.index_summary)["pixels"], attempt)


def maps_mem_mb(wildcards, input, attempt):
    with open(input.shown) as f:
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


def report_outputs():
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
    return out


def zone_figure_labels(**fixed):
    """Labels of the figures of a directory named by zone file stem: the zone id
    exactly as written (the plotting job writes {stem: id} to zones.json next to
    them), then `fixed`. Snakemake accepts a function for the whole labels dict only.
    """

    def labels(wildcards, output):
        return figure_names.figure_labels(wildcards.zone, output[0], **fixed)

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
