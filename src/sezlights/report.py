"""What the run report (``snakemake --report``) shows, apart from the figures.

- :func:`choose_zones`: the zones plotted and mapped one by one, and why.
- :func:`provenance_table`: every file used, per source, month and tile, with its
  creation stamp, from the month manifests.
- :func:`run_summary_html`: one plain page with the facts of the run.
The figures are in :mod:`sezlights.plots`, figure names and labels in
:mod:`sezlights.labels`, browsable tables in :mod:`sezlights.htmltable`.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pandas as pd
import yaml

from .errors import UserError
from .table import QUALITY

UNITS = "nW/cm²/sr"
SOURCES = ("eog", "blackmarble")  # the order sources are listed in
SOURCE_NAMES = {"eog": "EOG VIIRS DNB", "blackmarble": "NASA Black Marble"}
QUALITIES = QUALITY  # ok, partly_observed, no_cloud_free, outside_coverage
MIN_SHARE = 0.5  # below this observed share a month's statistics are drawn faded
PROVENANCE_COLUMNS = [
    "source",
    "month",
    "satellite",
    "tile",
    "file",
    "creation_stamp",
    "bytes_listed",
    "url",
]


def _show_id(zone_id: str) -> str:
    """An id as written in a message: quoted when bare text would hide part of it."""
    if zone_id != zone_id.strip() or "," in zone_id or not zone_id.isprintable() or not zone_id:
        return repr(zone_id)
    return zone_id


def ranking_source(table: pd.DataFrame) -> str | None:
    """The source zones are ranked by: EOG when in the table, else the first
    source (alphabetically); None for a table without a ``source`` column."""
    if "source" not in table.columns or table.empty:
        return None
    sources = sorted(set(table["source"].astype(str)))
    return "eog" if "eog" in sources else sources[0]


def choose_zones(
    table: pd.DataFrame, wanted: Sequence[str] | None = None, max_zones: int = 50
) -> pd.DataFrame:
    """The zones the report shows one by one, with why each was chosen.

    Returns columns ``rank, zone_id, sum_of_lights_all_months, why``.

    ``wanted`` (``report.zones``) names them, in that order (repeats dropped; an
    empty list counts as no list); otherwise every zone is shown when there are at
    most ``max_zones``, and beyond that the ``max_zones`` brightest: largest sum of
    lights over the months run (empty months count 0; ties by id). With several
    sources in the table, the sum of lights is that of the EOG rows when there are
    any, else of the first source (see :func:`ranking_source`). Ids are compared
    exactly as strings (no trimming, no case folding). A report with a plot and a
    map for each of 10,000 zones would be neither quick to build nor to read.

    Raises :class:`~sezlights.errors.UserError` naming the ids in ``wanted`` that
    are not in the table.
    """
    ids = table["zone_id"].astype(str)
    all_ids = sorted(set(ids))
    source = ranking_source(table)
    several = source is not None and table["source"].nunique() > 1
    rows = table if source is None else table[table["source"].astype(str) == source]
    totals = (
        rows["sum"]
        .fillna(0)
        .groupby(ids[rows.index], sort=True)
        .sum()
        .reindex(all_ids, fill_value=0.0)
        .astype(float)
        .rename("sum_of_lights_all_months")
        .rename_axis("zone_id")
        .reset_index()
    )
    n = len(totals)
    if isinstance(wanted, str):
        wanted = [wanted]
    if wanted:
        wanted = list(dict.fromkeys(str(z) for z in wanted))
        known = set(all_ids)
        unknown = sorted(z for z in wanted if z not in known)
        if unknown:
            shown = ", ".join(_show_id(z) for z in unknown[:10])
            shown += " ..." if len(unknown) > 10 else ""
            raise UserError(
                f"report.zones names {len(unknown)} zone id(s) not in the zones file: "
                f"{shown}; fix the list in the config (ids are those of zones.id_field)"
            )
        chosen = totals.set_index("zone_id").loc[wanted].reset_index()
        chosen["why"] = "listed in report.zones"
    elif n <= max_zones:
        chosen = totals.copy()
        chosen["why"] = f"all {n} zones"
    else:
        chosen = totals.sort_values(
            ["sum_of_lights_all_months", "zone_id"], ascending=[False, True], kind="stable"
        ).head(max_zones)
        chosen["why"] = f"{max_zones} brightest of {n} zones" + (
            f" by {source} sum of lights" if several else ""
        )
    chosen.insert(0, "rank", range(1, len(chosen) + 1))
    return chosen.reset_index(drop=True)


# --------------------------------------------------------------------------- provenance


def _source_key(source: str) -> tuple[int, str]:
    return (SOURCES.index(source) if source in SOURCES else len(SOURCES), source)


def provenance_table(manifests: Iterable[str | Path]) -> pd.DataFrame:
    """Every file used: source, month, satellite, tile, file, creation stamp, size
    in bytes as listed by the server (empty when the listing gave none) and URL.

    Reads the month manifests (``{"source", "month", "satellite", "files": [{"tile",
    "name", "url", "stamp", "size", "satellite"}], ...}``); a file's own satellite
    wins over the manifest's. Manifests of the older single-source shape (``"tiles"``
    instead of ``"files"``, no ``"source"``) are read as EOG. Rows are sorted by
    source (EOG first), month, satellite and tile.
    """
    rows = []
    for path in manifests:
        m = json.loads(Path(path).read_text(encoding="utf-8"))
        source = m.get("source", "eog")
        for f in m.get("files", m.get("tiles", [])):
            rows.append(
                {
                    "source": source,
                    "month": m["month"],
                    "satellite": f.get("satellite") or m.get("satellite") or "",
                    "tile": f["tile"],
                    "file": f["name"],
                    "creation_stamp": f.get("stamp") or "",
                    "bytes_listed": f.get("size"),
                    "url": f.get("url") or "",
                }
            )
    df = pd.DataFrame(rows, columns=PROVENANCE_COLUMNS)
    df["bytes_listed"] = pd.array(
        [
            None if v is None or (isinstance(v, float) and math.isnan(v)) else int(v)
            for v in df["bytes_listed"]
        ],
        dtype="Int64",
    )
    for col in PROVENANCE_COLUMNS:
        if col != "bytes_listed":
            df[col] = df[col].astype(str)
    if df.empty:
        return df.reset_index(drop=True)
    order = sorted(
        range(len(df)),
        key=lambda i: (
            _source_key(df["source"].iat[i]),
            df["month"].iat[i],
            df["satellite"].iat[i],
            df["tile"].iat[i],
            df["file"].iat[i],
        ),
    )
    return df.iloc[order].reset_index(drop=True)


# --------------------------------------------------------------------------- run summary

_SECRET_KEY = re.compile(
    r"secret|passw|token|credential|api[_-]?key|private[_-]?key|cookie|auth[_-]?key", re.I
)
_HIDDEN = "(hidden)"


def _scrub_url(value: str) -> str:
    """A URL without a password in it or secret-looking query values."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return value
    if not parts.scheme or not parts.netloc:
        return value
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{_HIDDEN}@{host}" if ":" in userinfo else netloc
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, _HIDDEN if _SECRET_KEY.search(k) else v) for k, v in pairs], safe="()"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact(obj):
    """A copy of a config with secrets hidden, for printing.

    The value of every key named like a secret (``*secret*``, ``*passw*``,
    ``*token*``, ``*credential*``, ``*api_key*``, ...) becomes ``(hidden)``,
    except keys ending in ``url`` (``token_url`` is an address, not a secret);
    in every string that is a URL a password (``user:pw@``) and secret-looking
    query values are hidden. Values that are not plain YAML become strings.
    """
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            key = str(k)
            if _SECRET_KEY.search(key) and not key.lower().endswith("url"):
                out[key] = _HIDDEN if v not in (None, "") else v
            else:
                out[key] = redact(v)
        return out
    if isinstance(obj, list | tuple | set):
        return [redact(v) for v in obj]
    if isinstance(obj, str):
        return _scrub_url(obj) if "://" in obj else obj
    if obj is None or isinstance(obj, bool | int | float):
        return obj
    return str(obj)


def _config_for(config: Mapping, source: str) -> Mapping:
    """The config block of a source: ``sources.<name>``, ``<name>``, or (older
    single-source configs) ``source`` for EOG."""
    sources = config.get("sources")
    if isinstance(sources, Mapping) and isinstance(sources.get(source), Mapping):
        return sources[source]
    if isinstance(config.get(source), Mapping):
        return config[source]
    if source == "eog" and isinstance(config.get("source"), Mapping):
        return config["source"]
    return {}


def _join(values: Iterable) -> str:
    return ", ".join(str(v) for v in dict.fromkeys(v for v in values if v not in (None, "")))


def _per_source(
    config: Mapping,
    tiles: pd.DataFrame,
    table: pd.DataFrame | None,
    manifests: list[dict],
    described: Mapping[str, Mapping] | None = None,
) -> pd.DataFrame:
    described = described or {}
    sources = set(tiles["source"]) if "source" in tiles.columns else set()
    if table is not None and "source" in table.columns:
        sources |= set(table["source"].astype(str))
    sources |= {m.get("source", "eog") for m in manifests}
    sources |= set(described)
    rows = []
    for source in sorted(sources, key=_source_key):
        cfg = _config_for(config, source)
        about = described.get(source) or {}
        mans = [m for m in manifests if m.get("source", "eog") == source]
        files = tiles[tiles["source"] == source] if "source" in tiles.columns else tiles
        row = {
            "source": source,
            "data": about.get("label") or SOURCE_NAMES.get(source, source),
            "product": _join([m.get("product") for m in mans])
            or str(about.get("product") or cfg.get("product", "")),
            "collection": _join([m.get("collection") for m in mans])
            or str(about.get("collection") or cfg.get("collection", "")),
            "satellites": _join(
                list(files.get("satellite", [])) + [m.get("satellite") for m in mans]
            )
            or _join(cfg.get("satellites", []) if isinstance(cfg.get("satellites"), list) else []),
            "months with files": files["month"].nunique() if "month" in files else 0,
            "files used": len(files),
            "tiles absent from the server": sum(len(m.get("tiles_absent") or []) for m in mans),
        }
        if about.get("variable"):
            row["variable"] = str(about["variable"])
        if about.get("quality_accepted") is not None:
            row["quality classes accepted"] = _join(about["quality_accepted"])
        if table is not None:
            q = table.loc[table["source"].astype(str) == source, "quality"].astype(str)
            counts = q.value_counts()
            row["zone-months"] = len(q)
            for quality in QUALITIES:
                row[quality] = int(counts.get(quality, 0))
            other = len(q) - sum(row[quality] for quality in QUALITIES)
            if other:
                row["other quality"] = other
        rows.append(row)
    return pd.DataFrame(rows)


def _stamps_by_month(tiles: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Per source, a month x tile table of creation stamps."""
    out = []
    if tiles.empty:
        return out
    for source in sorted(set(tiles["source"]), key=_source_key):
        t = tiles[tiles["source"] == source].copy()
        if t["satellite"].nunique() > 1:
            t["tile"] = t["tile"] + " (" + t["satellite"] + ")"
        grid = t.pivot_table(
            index="month", columns="tile", values="creation_stamp", aggfunc=_join
        ).fillna("")
        grid.columns.name = None
        out.append((source, grid))
    return out


_PAGE_STYLE = (
    "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;"
    "margin-bottom:1em}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;"
    "white-space:pre;text-align:left}pre{background:#f6f6f6;padding:.8em;font-size:12px}"
    "</style>"
)


def run_summary_html(
    zones_summary: str | Path,
    config: Mapping,
    months: Sequence[str],
    tiles: pd.DataFrame,
    shown: pd.DataFrame,
    *,
    table: pd.DataFrame | None = None,
    manifests: Iterable[str | Path] = (),
    sources: Mapping[str, Mapping] | None = None,
) -> str:
    """A plain HTML page with the facts of the run.

    - facts: months, zones file and its SHA-256, zone count, id field, tiles needed,
      files used, the zones plotted one by one (``shown``, from :func:`choose_zones`);
    - per source: product, collection (Black Marble), satellites, files used, tiles
      absent from the server (from ``manifests``, the month manifest files), and how
      many zone-months are ok / partly_observed / no_cloud_free / outside_coverage
      (from ``table``, the statistics table; left out without it);
    - the creation stamp of each tile per month, per source (``tiles``, from
      :func:`provenance_table`);
    - the configuration as YAML, secrets hidden (:func:`redact`).

    ``sources`` describes each configured source (``{name: Source.provenance()}``:
    label, product, collection, variable, quality classes accepted); product and
    collection come from the manifests, or else from ``sources``, or else from the
    config. The tiles needed are the zones summary's ``tiles_needed`` (a list, or
    per source), or else its ``grids.<source>.tiles_near``.
    """
    z = json.loads(Path(zones_summary).read_text(encoding="utf-8"))
    mans = [json.loads(Path(p).read_text(encoding="utf-8")) for p in manifests]
    needed = z.get("tiles_needed")
    if needed is None:
        grids = z.get("grids") or {}
        needed = {name: grid.get("tiles_near", []) for name, grid in grids.items()}
    if isinstance(needed, Mapping):
        needed_text = "; ".join(
            f"{s}: {', '.join(map(str, needed[s])) or 'none'}"
            for s in sorted(needed, key=_source_key)
        )
    else:
        needed_text = ", ".join(map(str, needed))
    n_zones = z.get("zones", "")
    if len(shown):
        plotted = f"{len(shown)} of {n_zones} ({shown['why'].iloc[0]})"
    else:
        plotted = "none"
    month_text = f"{months[0]} to {months[-1]} ({len(months)})" if len(months) else "none"
    facts = [
        ("months", month_text),
        ("zones file", z.get("source", "")),
        ("zones file sha256", z.get("sha256", "")),
        ("zones", n_zones),
        ("id field", z.get("id_field", "")),
        ("tiles needed", needed_text),
        ("files used", len(tiles)),
        ("zones plotted one by one", plotted),
    ]
    facts_html = _kv_table(facts)
    per_source = _per_source(config, tiles, table, mans, sources)
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Run summary</title>",
        _PAGE_STYLE,
        "</head><body><h2>Run summary</h2>",
        facts_html,
    ]
    if len(per_source):
        parts += [
            "<h3>Sources</h3>",
            "<p>Zone-month counts by quality: <i>ok</i> every pixel observed cloud-free; "
            "<i>partly_observed</i> some; <i>no_cloud_free</i> none; <i>outside_coverage</i> "
            "no pixel of the source's grid covers the zone. The report calls every month "
            "that is not <i>ok</i> poorly observed.</p>",
            per_source.to_html(index=False, escape=True, na_rep=""),
        ]
    for source, grid in _stamps_by_month(tiles):
        parts += [
            f"<h3>Creation stamp of each tile used: {html.escape(source)}</h3>",
            grid.reset_index().to_html(index=False, escape=True),
        ]
    absent = [
        (m.get("source", "eog"), m.get("month", ""), ", ".join(map(str, m["tiles_absent"])))
        for m in mans
        if m.get("tiles_absent")
    ]
    if absent:
        parts += [
            "<h3>Tiles needed but absent from the server</h3>",
            pd.DataFrame(absent, columns=["source", "month", "tiles"]).to_html(
                index=False, escape=True
            ),
        ]
    cfg = yaml.safe_dump(redact(dict(config)), sort_keys=False, allow_unicode=True)
    parts += ["<h3>Configuration</h3><pre>", html.escape(cfg), "</pre></body></html>\n"]
    return "".join(parts)


def _kv_table(rows: Iterable[tuple[str, object]]) -> str:
    body = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )
    return f"<table>{body}</table>"


# --------------------------------------------------------------------------- html tables
