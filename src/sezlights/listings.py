"""Listing the servers when the workflow is parsed (``workflow/rules/listings.smk``).

Two questions are asked before any job runs, by the main Snakemake process only:

- ``months.end: latest``: the newest month for which every configured source lists
  every file the zones need (:func:`latest_month`), with one line per newer month
  skipped;
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
from .errors import MissingFileError, UserError
from .months import from_index, month_index, parse_month

log = logging.getLogger(__name__)


def write_manifest(path, manifest: dict) -> None:
    write_json(path, manifest)


def needed_now(config: Mapping, tile_sets: Mapping) -> dict:
    """{source: tiles near the zones} for each of ``tile_sets`` ({source: TileSet}), from
    the zones file itself, read once (the index may not exist yet): a superset of the
    tiles that hold some zone's pixels (:func:`index_tiles`)."""
    if not tile_sets:
        return {}
    from .zones import load_zones, tiles_near

    z = config["zones"]
    zones = load_zones(z["path"], z["id_field"], z.get("layer"))
    return {name: tiles_near(zones, tiles) for name, tiles in tile_sets.items()}


def index_tiles(
    index_summary, zones_summary, fingerprint: str, config: Mapping
) -> list[str] | None:
    """The tiles the pixel index says hold some zone's pixels (``index.tiles_needed``, in
    the index summary), if that index was made for the zones the config names now.

    It was when the zones summary it was built after is for these zones (the same content
    fingerprint, id field and layer) and the index is not older than it. Otherwise (no
    index yet, other zones, an index not remade since the zones changed): None.
    """
    index_summary, zones_summary = Path(index_summary), Path(zones_summary)
    try:
        if index_summary.stat().st_mtime < zones_summary.stat().st_mtime:
            return None
        made_for = json.loads(zones_summary.read_text())
        tiles = json.loads(index_summary.read_text()).get("tiles_needed")
    except (OSError, ValueError, AttributeError):
        return None
    z = config["zones"]
    now = (fingerprint, z["id_field"], z.get("layer"))
    if (made_for.get("sha256"), made_for.get("id_field"), made_for.get("layer")) != now:
        return None
    return [str(t) for t in tiles] if isinstance(tiles, list) else None


class _SearchOver(Exception):
    """A source's own search skipped sources.MAX_SKIPPED months (not a MissingFileError: the
    source's loop must not catch it and go on)."""


def _first_clause(exc: Exception) -> str:
    return str(exc).split("; ")[0]


def _own_latest(src, session, needed: list[str], first: str) -> tuple[str, list[str]]:
    """``src.latest_month``, stopped for good once it has skipped sources.MAX_SKIPPED months.

    Each failed listing of a month counts; at the last one allowed the search ends
    here, whatever the source's own loop would list next (older years, say).
    """
    skipped: list[str] = []
    own_list_month = src.list_month

    def list_month(session, month, needed):
        try:
            return own_list_month(session, month, needed)
        except MissingFileError as exc:
            skipped.append(f"skipped {month}: {_first_clause(exc)}")
            if len(skipped) >= sources.MAX_SKIPPED:
                raise _SearchOver from None
            raise

    src.list_month = list_month  # this instance only, for this search
    try:
        return src.latest_month(session, needed, first)
    except _SearchOver:
        raise UserError(
            f"months.end latest: {src.name} lists none of the {sources.MAX_SKIPPED} newest months "
            f"with every file the zones need; " + "; ".join(skipped[:3])
        ) from None
    finally:
        del src.list_month


def latest_month(config: Mapping, needed: Mapping[str, list[str]] | None = None):
    """The newest month for which every configured source lists every needed file.

    ``needed``: the tiles each source's zones need, where known from the pixel index
    (:func:`index_tiles`); other sources get the tiles near the zones (a superset).
    Each source first finds its own newest complete month; the oldest of those is then
    checked with every other source, and if one lacks it, the month before, and so on.
    Each search gives up after sources.MAX_SKIPPED months. Returns the month and one line per
    newer month skipped, saying why.
    """
    first = parse_month(config["months"]["start"], "months.start")
    names = sources.configured(config)
    found = {name: sources.get(name, config) for name in names}
    needed = needed or {}
    tiles = {name: list(needed[name]) for name in found if name in needed}
    tiles.update(needed_now(config, {n: s.tiles for n, s in found.items() if n not in tiles}))
    sessions = {name: s.session() for name, s in found.items()}
    own, notes = {}, []
    for name, src in found.items():
        own[name], skipped = _own_latest(src, sessions[name], tiles[name], first)
        notes += [f"{name}: {line}" for line in skipped]
    oldest = max([first] + [s.first_month for s in found.values()], key=month_index)
    start = min(month_index(m) for m in own.values())
    i, skipped = start, 0
    while True:
        month = from_index(i)
        lacking = []
        for name, src in found.items():
            if own[name] == month:
                continue  # its own search found this month complete
            try:
                manifest = src.list_month(sessions[name], month, tiles[name])
            except MissingFileError as exc:
                lacking.append(f"{name} {_first_clause(exc)}")
                continue
            if tiles[name] and not manifest.get("files"):
                lacking.append(f"{name} lists none of the zones' tiles")
        if not lacking:
            return month, notes
        notes.append(f"skipped {month}: " + "; ".join(lacking))
        skipped += 1
        i -= 1
        if skipped >= sources.MAX_SKIPPED or i < month_index(oldest):
            raise UserError(
                f"months.end latest: none of the {skipped} months from {from_index(start)} back "
                f"has every file the zones need from {' and '.join(names)} (looked back to "
                f"{from_index(i + 1)}, at most {sources.MAX_SKIPPED} months); "
                + "; ".join(notes[-3:])
            )


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
