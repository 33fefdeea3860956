"""sezlights: VIIRS nighttime-lights statistics for Special Economic Zones.

The Snakemake workflow under ``workflow/`` is a thin shell around this package, one
module per job, in the order data flows: config (:mod:`.config`) -> zones
(:mod:`.zones`: one zone table) -> pixel index per grid (:mod:`.index`) -> months and
manifests (:mod:`.latest`, :mod:`.manifest`, each source's plug-in in :mod:`.sources`)
-> files or windows (:mod:`.download`) -> statistics (:mod:`.zonal`) -> table
(:mod:`.table`) -> report (:mod:`.report`, :mod:`.plots`).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sezlights")
except PackageNotFoundError:  # running from a checkout that is not installed
    __version__ = "unknown"
