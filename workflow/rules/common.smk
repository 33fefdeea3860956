# Config helpers and input functions shared by the stages. No network here: the
# parse-time listings are in listings.smk.
import json
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


def zones_identity():
    """The zones' content identity (every file of the dataset), checked on every run.

    A params value: when it changes, the zones are prepared again, whatever the
    files' timestamps say (an edited .dbf, an older copy put back with cp -p).
    """
    try:
        return zone_files.fingerprint(ZONES_PATH)
    except UserError as exc:
        raise WorkflowError(str(exc)) from None


ZONES_FINGERPRINT = zones_identity()


def zones_sidecars():
    """The zones file's sidecars (a Shapefile's .dbf, .prj, ...); as for the file itself,
    their times do not matter, their content does (ZONES_FINGERPRINT)."""
    return [ancient(local(str(p))) for p in zone_files.dataset_files(ZONES_PATH)[1:]]


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
    return memory.table_mb(input.size_mb, attempt)


# ---------------------------------------------------------------- report

MAP_PIXELS = 600  # a map is read decimated to at most this many pixels across


def report_outputs():
    out = [
        "results/report/run_summary.html",
        "results/report/files.html",
        "results/report/zones_shown.html",
        "results/report/zonal_stats.html",
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
