"""Configuration helpers for the workflow (``workflow/rules/common.smk`` calls them).

Defaults come only from the schema (``workflow/schemas/config.schema.yaml``); the
required keys must come from the user's own config file. Keys that users' files
hold from earlier versions keep working: :func:`upgrade` says what changed.
"""

from __future__ import annotations

from collections.abc import MutableMapping

from . import sources
from .errors import ConfigError
from .months import month_range

RETIRED = {
    ("source", "auth", "client_id"): "EOG_CLIENT_ID",
    ("source", "auth", "client_secret"): "EOG_CLIENT_SECRET",
}


def upgrade(config: MutableMapping) -> list[str]:
    """Drop keys that are no longer used, returning one warning for each."""
    notes = []
    for path, env in RETIRED.items():
        node = config
        for key in path[:-1]:
            node = node.get(key, {}) if isinstance(node, MutableMapping) else {}
        if isinstance(node, MutableMapping) and path[-1] in node:
            node.pop(path[-1])
            notes.append(
                f"config key {'.'.join(path)} is no longer used (EOG retired its public "
                f"client): set {env} in the environment instead; the key is ignored."
            )
    return notes


def months(config, end: str | None = None) -> list[str]:
    """The months to run, checked against every configured source's first month."""
    m = month_range(config["months"]["start"], end or config["months"]["end"])
    for name in sources.configured(config):
        sources.get(name, config).check_months(m)
    return m


def check(config) -> None:
    """Checks the schema cannot express."""
    if config["stats"]["min_cloud_free"] < 1:
        raise ConfigError("stats.min_cloud_free must be 1 or more.")
