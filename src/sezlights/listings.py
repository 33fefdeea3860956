"""Listing the servers when the workflow is parsed (``workflow/rules/listings.smk``).

Two questions are asked before any job runs, by the main Snakemake process only:

- ``months.end: latest``: the newest month whose needed files every configured
  source lists (:func:`latest_month`), with one line per newer month skipped;
- ``source.refresh_listings``: has a file been republished (new creation stamp)
  since a month's manifest was written? (:func:`refresh`) Only that month's
  manifest is rewritten, so only that month re-runs.

The month's manifest has one writer, :func:`write_manifest`, used both by the
listing checkpoint and by the refresh here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import sources
from .atomic import write_json
from .errors import MissingFileError
from .grid import TileSet
from .zones import load_zones, tiles_near

log = logging.getLogger(__name__)


def write_manifest(path, manifest: dict) -> None:
    write_json(path, manifest)


def needed_now(config: Mapping, tiles: TileSet) -> list[str]:
    """Tiles near the zones, from the zones file itself (the index may not exist yet)."""
    z = config["zones"]
    return tiles_near(load_zones(z["path"], z["id_field"], z.get("layer")), tiles)


def latest_month(config: Mapping) -> tuple[str, list[str]]:
    """The newest month every configured source has all needed files for."""
    first = str(config["months"]["start"])
    first = f"{first[:4]}-{first[-2:]}"
    best, notes = None, []
    for name in sources.configured(config):
        src = sources.get(name, config)
        month, skipped = src.latest_month(src.session(), needed_now(config, src.tiles), first)
        notes += [f"{name}: {line}" for line in skipped]
        best = month if best is None or month < best else best
    return best, notes


def refresh(config: Mapping, manifests: list[tuple[str, Path]]) -> list[tuple[Path, str]]:
    """List again each (source, manifest path); rewrite the manifests that changed.

    Returns (path, one-line description) for each rewritten manifest. A month whose
    listing now lacks a file keeps its manifest (what was computed from it stays
    valid), with a warning.
    """
    by_source: dict[str, list[Path]] = {}
    for name, path in manifests:
        by_source.setdefault(name, []).append(Path(path))
    changes = []
    for name, paths in by_source.items():
        src = sources.get(name, config)
        session = src.session()

        def one(path, src=src, session=session):
            return path, _refresh_one(src, session, path)

        with ThreadPoolExecutor(max_workers=4) as pool:
            for path, change in pool.map(one, paths):
                if change:
                    changes.append((path, change))
    return changes


def _refresh_one(src, session, path: Path) -> str | None:
    old = json.loads(path.read_text())
    needed = [f["tile"] for f in old["files"]] + list(old.get("tiles_absent", []))
    try:
        new = src.list_month(session, old["month"], needed)
    except MissingFileError as exc:
        log.warning("%s (keeping the earlier manifest)", exc)
        return None
    if new == old:
        return None
    before = {f["tile"]: f["stamp"] for f in old["files"]}
    changed = [
        f"{f['tile']} {before.get(f['tile'])} -> {f['stamp']}"
        for f in new["files"]
        if before.get(f["tile"]) != f["stamp"]
    ]
    write_manifest(path, new)
    what = f"republished {', '.join(changed)}" if changed else "listing details changed"
    return f"{src.name} {old['month']}: {what}"
