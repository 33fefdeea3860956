"""Configuration helpers for the workflow (``workflow/rules/common.smk`` calls them).

Defaults come only from the schema (``workflow/schemas/config.schema.yaml``); the
required keys must come from the user's own config file. Each source's settings are in
a block named after it (``eog:``, ``blackmarble:``, ``len:``); run-wide keys are
elsewhere (``sources``, ``listings``, ``stats``, ``download``, ...). Configs written for
earlier versions keep working: :func:`upgrade` moves their keys and says what changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import MutableMapping

from . import sources
from .errors import ConfigError
from .months import month_range

# (old path, new path) of keys that moved; None: no longer used
MOVED = {
    ("source", "name"): ("sources",),
    ("source", "base_url"): ("eog", "base_url"),
    ("source", "product"): ("eog", "product"),
    ("source", "pixel_arcsec"): ("eog", "pixel_arcsec"),
    ("source", "auth", "token_url"): ("eog", "auth", "token_url"),
    ("source", "refresh_listings"): ("listings", "refresh"),
    ("blackmarble", "product"): ("blackmarble", "products"),
    ("blackmarble", "base_url"): ("blackmarble", "ladsweb_url"),
}
RETIRED = {
    ("source", "auth", "client_id"): "EOG_CLIENT_ID",
    ("source", "auth", "client_secret"): "EOG_CLIENT_SECRET",
}
REFRESH = ("always", "daily", "never")


def _pop(config: MutableMapping, path: tuple[str, ...]):
    node = config
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, MutableMapping) else None
        if not isinstance(node, MutableMapping):
            return None, False
    if path[-1] not in node:
        return None, False
    return node.pop(path[-1]), True


def _put(config: MutableMapping, path: tuple[str, ...], value) -> None:
    node = config
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node.setdefault(path[-1], value)


def upgrade(config: MutableMapping) -> list[str]:
    """Move keys of earlier config shapes to where they are now, returning one warning
    for each; drop the ones no longer used."""
    notes = []
    for path, env in RETIRED.items():
        _, found = _pop(config, path)
        if found:
            notes.append(
                f"config key {'.'.join(path)} is no longer used (EOG retired its public "
                f"client): set {env} in the environment instead; the key is ignored."
            )
    for old, new in MOVED.items():
        value, found = _pop(config, old)
        if not found:
            continue
        if old == ("source", "name"):
            value = [value] if isinstance(value, str) else value
        elif old == ("source", "refresh_listings"):
            value = "always" if value else "never"
        elif old == ("blackmarble", "product"):
            value = [value]
        elif old == ("blackmarble", "base_url"):
            _put(config, ("blackmarble", "endpoint"), "ladsweb")
        _put(config, new, value)
        notes.append(
            f"config key {'.'.join(old)} is now {'.'.join(new)} (each source has its own block); "
            f"read as {'.'.join(new)}: {value!r}. Update your config file."
        )
    _drop_empty(config, "source")  # emptied by the moves above (source.auth too)
    return notes


def _drop_empty(node: MutableMapping, key: str) -> None:
    """Remove ``node[key]`` if it is a mapping holding nothing but empty mappings."""
    value = node.get(key)
    if not isinstance(value, MutableMapping):
        return
    for sub in list(value):
        _drop_empty(value, sub)
    if not value:
        del node[key]


def months(config, end: str | None = None) -> list[str]:
    """The months to run, checked against every configured source's months."""
    m = month_range(config["months"]["start"], end or config["months"]["end"])
    for name in sources.configured(config):
        sources.get(name, config).check_months(m)
    return m


def listing_epoch(refresh: str, now: dt.datetime | None = None, run: str = "") -> str:
    """The epoch a month's listing is made under (``listings.refresh``): a new epoch lists
    again. ``always``: every run (``run`` names it); ``daily``: once a UTC day; ``never``:
    a month is listed once."""
    if refresh not in REFRESH:
        raise ConfigError(f"listings.refresh must be one of {', '.join(REFRESH)}.")
    now = now or dt.datetime.now(dt.UTC)
    if refresh == "always":
        return f"run {run or now.isoformat(timespec='seconds')}"
    if refresh == "daily":
        return f"day {now:%Y-%m-%d}"
    return "once"
