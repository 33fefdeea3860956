"""Discover a month's tile archives on the EOG server.

File names carry a creation stamp that cannot be guessed
(``SVDNB_npp_20190101-20190131_75N060W_vcmcfg_v10_c201902051200.tgz``), so each
month's directory ``{base}/{YYYY}/{YYYYMM}/{product}/`` is listed and matched.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urljoin

import requests

from .errors import MissingTileError, UserError
from .grid import TILE_IDS
from .http import check_login
from .months import compact, month_bounds

log = logging.getLogger(__name__)

PRODUCTS = ("vcmcfg", "vcmslcfg")
ARCHIVE_RE = re.compile(
    r"^SVDNB_npp_(?P<start>\d{8})-(?P<end>\d{8})_(?P<tile>"
    + "|".join(TILE_IDS)
    + r")_(?P<product>vcmcfg|vcmslcfg)_v10_c(?P<stamp>\d{12})\.tgz$"
)
_HREF_RE = re.compile(r"""<a\s[^>]*href\s*=\s*["']([^"']+)["'][^>]*>(.*?)</a>(.*)""", re.I)
_SIZE_RE = re.compile(r"\s(\d+)\s*$")


def month_dir_url(base_url: str, month: str, product: str) -> str:
    ym = compact(month)
    return f"{base_url.rstrip('/')}/{ym[:4]}/{ym}/{product}/"


def list_directory(
    session: requests.Session, url: str, timeout=(10, 60)
) -> list[tuple[str, int | None]]:
    """(name, size in bytes or None) for each link of an HTML directory index."""
    try:
        r = session.get(url, timeout=timeout)
    except requests.RequestException as exc:
        raise UserError(
            f"could not list {url} ({type(exc).__name__}); check source.base_url and the network."
        ) from None
    if r.status_code == 404:
        return []
    if r.status_code in (401, 403):
        check_login(r, f"the listing {url}")
    if not r.ok:
        raise UserError(f"listing {url} failed with HTTP {r.status_code}; try again later.")
    entries = []
    for line in r.text.splitlines():
        for m in _HREF_RE.finditer(line):
            href = m.group(1).split("?")[0].split("#")[0]
            name = href.rstrip("/").rsplit("/", 1)[-1] + ("/" if href.endswith("/") else "")
            size = _SIZE_RE.search(re.sub(r"<[^>]+>", " ", m.group(3)))
            entries.append((name, int(size.group(1)) if size else None))
    return entries


def discover_month(
    session: requests.Session,
    base_url: str,
    month: str,
    product: str,
    needed_tiles: list[str],
) -> dict:
    """Manifest of the needed tiles of one month (deterministic: no timestamps)."""
    url = month_dir_url(base_url, month, product)
    entries = list_directory(session, url)
    start, end = month_bounds(month)
    found: dict[str, dict] = {}
    for name, size in entries:
        m = ARCHIVE_RE.match(name)
        if not m or m["product"] != product or m["start"] != start or m["end"] != end:
            continue
        tile = m["tile"]
        rec = {
            "tile": tile,
            "name": name,
            "url": urljoin(url, name),
            "stamp": m["stamp"],
            "size": size,
        }
        prev = found.get(tile)
        if prev is None or rec["stamp"] > prev["stamp"]:
            if prev is not None:
                log.warning(
                    "%s: tile %s is listed twice (stamps %s and %s); using the newer %s",
                    month,
                    tile,
                    prev["stamp"],
                    rec["stamp"],
                    rec["stamp"],
                )
            found[tile] = rec
        elif prev["stamp"] != rec["stamp"]:
            log.warning(
                "%s: tile %s is listed twice (stamps %s and %s); using the newer %s",
                month,
                tile,
                rec["stamp"],
                prev["stamp"],
                prev["stamp"],
            )
    missing = [t for t in needed_tiles if t not in found]
    if missing:
        raise MissingTileError(
            f"{month}: tile(s) {', '.join(missing)} of product {product} are not listed at {url}; "
            "the month may not be published yet: end the month range earlier or try again later."
        )
    return {
        "month": month,
        "product": product,
        "listing_url": url,
        "tiles": [found[t] for t in TILE_IDS if t in needed_tiles],
        "tiles_not_needed": sorted(t for t in found if t not in needed_tiles),
    }


def latest_month(session: requests.Session, base_url: str, product: str) -> str:
    """Newest month the server lists for ``product``."""
    base = base_url.rstrip("/") + "/"
    years = sorted(
        n.rstrip("/") for n, _ in list_directory(session, base) if re.fullmatch(r"\d{4}/?", n)
    )
    for year in reversed(years):
        months = sorted(
            n.rstrip("/")
            for n, _ in list_directory(session, f"{base}{year}/")
            if re.fullmatch(rf"{year}\d{{2}}/?", n)
        )
        for ym in reversed(months):
            if list_directory(session, f"{base}{year}/{ym}/{product}/"):
                return f"{ym[:4]}-{ym[4:]}"
    raise UserError(f"no month of product {product} is listed under {base}; check source.base_url.")


def refresh_manifest(session: requests.Session, path, base_url: str, product: str) -> str | None:
    """List a month again and rewrite its manifest if a tile was republished.

    Returns a one-line description of the change, or None when nothing changed
    (the file, and so its modification time, is then left alone: nothing
    downstream re-runs). A month whose listing now lacks a tile keeps its manifest:
    what was computed from it stays valid, and the warning says so.
    """
    import json
    from pathlib import Path

    from .atomic import write_json

    path = Path(path)
    old = json.loads(path.read_text())
    month, tiles = old["month"], [t["tile"] for t in old["tiles"]]
    try:
        new = discover_month(session, base_url, month, product, tiles)
    except MissingTileError as exc:
        log.warning("%s (keeping the earlier manifest)", exc)
        return None
    if new == old:
        return None
    before = {t["tile"]: t["stamp"] for t in old["tiles"]}
    changed = [
        f"{t['tile']} {before.get(t['tile'])} -> {t['stamp']}"
        for t in new["tiles"]
        if before.get(t["tile"]) != t["stamp"]
    ]
    write_json(path, new)
    return (
        f"{month}: republished {', '.join(changed)}"
        if changed
        else f"{month}: listing details changed"
    )
