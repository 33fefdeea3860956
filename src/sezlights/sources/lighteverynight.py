"""World Bank "Light Every Night" monthly VIIRS DNB composites (AWS Open Data, anonymous).

Every fact about the bucket lives here; the evidence for each, and what remains unknown,
is docs/evidence/lighteverynight.md (§ below).

- Bucket ``globalnightlight`` (us-east-1), public: plain HTTPS GETs on
  ``https://globalnightlight.s3.amazonaws.com/`` (§1.2). Listed with S3's ListObjectsV2
  (``?list-type=2&prefix=..``, XML, paged by ``continuation-token``), the way public code
  lists it (§1.3); names are matched, never built.
- Keys: ``composites/npp_{YYYYMM}_{proc}/DNB_npp_{first}-{last}_global_{variant}_v10_
  {proc}.{avg_rade9|n_cf}.tif`` (§2.1): radiance ``avg_rade9`` and the count of cloud-free
  nights ``n_cf`` (§2.4), one global file each, no creation stamp. Processing ``rp2``
  until 2017-03, ``ops`` from 2017-04; cloud mask ``vcm`` until 2017-12, ``ecm`` from
  2018-01 (§3.3); stray light excluded (``-slexcl``) or corrected (``-slcorr``), named
  ``ecmcfg`` / ``ecmslcfg`` in 2024-10 (§2.3). What a month actually has is what its
  listing says: the product recorded per month is ``{variant}_v10_{proc}`` from the
  names, so a change of processing line shows in the table's ``product`` column.
- Months from 2012-01; none for 2014-03, 2021-08, 2022-06, 2022-08, and no ``n_cf`` for
  2017-10 and 2017-11 (§3.2); nothing after 2025-06 as of late 2026 (§3.1). A month
  before the newest one in the bucket that has no composite is a gap: its pixels count
  as not observed, and the listing says so. A month after it is not published.
- Rasters (§4): EPSG:4326 on the 15" lattice whose corner is half a pixel north-west of
  (-180, 75) (``-180.00208333335, 75.00208333335``); Cloud-Optimized GeoTIFFs of 3-4 GB,
  read by window (only the internal tiles holding zone pixels) with GDAL over HTTP
  (§5), or downloaded whole when the zones need so much of them that it is cheaper
  (``len.read: auto``). A file is identified by its ETag, size and Last-Modified (§1.3):
  every window read is conditional on the ETag the listing recorded.
- Unobserved: fewer cloud-free nights than ``stats.min_cloud_free``, and radiance that is
  no value: the file's nodata tag if it has one, NaN, or below :data:`NODATA_BELOW`
  (public code treats -999.3 as nodata, §4; real radiance noise goes down to about
  -0.5). Whether -1.5 marks nodata is not known; where it occurs with no cloud-free night
  the pixel is unobserved anyway.
"""

from __future__ import annotations

import contextlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, urlencode

import requests

from ..errors import ConfigError, MissingFileError, UserError
from ..grid import Lattice, TileSet
from ..http import describe_error, describe_status
from ..manifest import Granule, Manifest, Part
from ..months import compact, month_bounds, month_index
from . import KINDS, Grid, Series, Source, tiff_bands

NAME = "len"
BASE_URL = "https://globalnightlight.s3.amazonaws.com"
PREFIX = "composites/"
SATELLITE = "npp"  # only Suomi NPP folders are known (§3.4)
FIRST = "2012-01"
OPS_FROM, ECM_FROM = "2017-04", "2018-01"
NORTH, SOUTH = 75.0, -65.0
STRAY_LIGHT = ("slexcl", "slcorr")
READS = ("auto", "window", "download")
TILE = "global"
KEY_RE = re.compile(
    r"^composites/npp_(?P<ym>\d{6})_(?P<folder>[a-z0-9]+)/DNB_npp_(?P<start>\d{8})-"
    r"(?P<end>\d{8})_global_(?P<variant>[a-z0-9-]+)_v10_(?P<proc>[a-z0-9]+)\."
    r"(?P<layer>avg_rade9|n_cf)\.tif$"
)
# variant names per stray-light setting: {mask}-slexcl / {mask}-slcorr, or (2024-10)
# {mask}cfg / {mask}slcfg
VARIANT_RE = {
    "slexcl": re.compile(r"^(?P<mask>[a-z]+)(-slexcl|cfg)$"),
    "slcorr": re.compile(r"^(?P<mask>[a-z]+)(-slcorr|slcfg)$"),
}
LAYER_KIND = {"avg_rade9": "radiance", "n_cf": "coverage"}
NODATA_BELOW = -100.0  # radiance below this is a nodata value, not a measurement
S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
HEADER_BYTES = 1 << 16  # what a window read fetches first (remote.HEADER_BYTES)
REQUEST_BYTES = 2048  # the cost of one more HTTP request, in bytes, when comparing ways


def lattice(pixel: float) -> Lattice:
    """75N..65S, the corner half a pixel north-west of (-180, 75) (§4)."""
    return Lattice(
        pixel=pixel,
        west=-180.0 - pixel / 2,
        north=NORTH + pixel / 2,
        rows=round((NORTH - SOUTH) / pixel),
        cols=round(360.0 / pixel),
    )


def parse_listing(xml: bytes) -> tuple[list[dict], list[str], str | None]:
    """An S3 ListBucketResult: (objects ``{key, size, etag, modified}``, common prefixes,
    the token of the next page or None). Raises ValueError for anything else."""
    root = ET.fromstring(xml)
    if root.tag.removeprefix(S3_NS) != "ListBucketResult":
        raise ValueError(root.tag.removeprefix(S3_NS))

    def text(el, name):
        child = el.find(S3_NS + name)
        if child is None:
            child = el.find(name)
        return child.text if child is not None and child.text is not None else None

    def all_of(el, name):
        return el.findall(S3_NS + name) or el.findall(name)

    objects = [
        {
            "key": text(c, "Key"),
            "size": int(text(c, "Size") or 0),
            "etag": text(c, "ETag"),
            "modified": text(c, "LastModified"),
        }
        for c in all_of(root, "Contents")
    ]
    prefixes = [text(p, "Prefix") for p in all_of(root, "CommonPrefixes")]
    truncated = (text(root, "IsTruncated") or "false").lower() == "true"
    token = text(root, "NextContinuationToken") if truncated else None
    if truncated and token is None:
        raise ValueError("a truncated listing without NextContinuationToken")
    return objects, prefixes, token


class LightEveryNight(Source):
    name = NAME
    label = "World Bank Light Every Night monthly VIIRS DNB composites"
    short_label = "Light Every Night"
    colour = "#2e7d32"
    order = 2
    download_resource = "len_downloads"

    def __init__(self, settings, shared=None):
        super().__init__(settings, shared)
        self.base_url = settings.get("base_url", BASE_URL).rstrip("/")
        self.stray_light = settings.get("stray_light", "slexcl")
        self.read = settings.get("read", "auto")
        self.pixel = settings.get("pixel_arcsec", 15) / 3600.0
        if self.stray_light not in STRAY_LIGHT:
            raise ConfigError(f"len.stray_light must be one of {', '.join(STRAY_LIGHT)}.")
        if self.read not in READS:
            raise ConfigError(f"len.read must be one of {', '.join(READS)}.")
        self._newest: str | None = None

    # ------------------------------------------------------------------ facts

    @property
    def grid(self) -> Grid:
        lat = lattice(self.pixel)
        return Grid(NAME, TileSet(lat, (0, lat.rows), (0, lat.cols), ((TILE,),)))

    def series(self) -> list[Series]:
        sl = self.stray_light
        return [
            Series(f"vcm-{sl}_v10_rp2", SATELLITE, FIRST, "2017-03"),
            Series(f"vcm-{sl}_v10_ops", SATELLITE, OPS_FROM, "2017-12"),
            Series(f"ecm-{sl}_v10_ops", SATELLITE, ECM_FROM),
        ]

    def product_label(self) -> str:
        return f"Light Every Night ({self.stray_light})"

    def provenance(self) -> dict:
        return {"source": NAME, "label": self.label, "stray_light": self.stray_light}

    def credentials(self, env: Mapping[str, str] | None = None) -> str:
        return "no login (a public bucket)"

    def is_login_page(self, response: requests.Response) -> bool:
        return False

    # ------------------------------------------------------------------ listings

    def _list(self, session: requests.Session, prefix: str, delimiter: str = ""):
        """Every object and common prefix under ``prefix`` (all pages), and the first
        page's URL (for the manifest)."""
        objects, prefixes, token, first_url = [], [], None, None
        while True:
            params = {"list-type": "2", "prefix": prefix}
            if delimiter:
                params["delimiter"] = delimiter
            if token:
                params["continuation-token"] = token
            url = f"{self.base_url}/?{urlencode(params, quote_via=quote)}"
            first_url = first_url or url
            try:
                r = session.get(url, timeout=self.shared.timeout)
            except requests.RequestException as exc:
                raise UserError(
                    f"could not list {url} ({describe_error(exc)}); check len.base_url and the "
                    "network."
                ) from None
            if r.status_code != 200:
                code = _s3_code(r.content)
                hint = (
                    "check len.base_url (the bucket is globalnightlight)"
                    if r.status_code in (301, 403, 404)
                    else "try again later"
                )
                raise UserError(
                    f"listing {url} failed: the server answered {describe_status(r.status_code)}"
                    f"{f' ({code})' if code else ''}; {hint}."
                )
            try:
                objs, prefs, token = parse_listing(r.content)
            except (ET.ParseError, ValueError) as exc:
                raise UserError(
                    f"{url} did not answer with an S3 bucket listing ({exc}); check len.base_url."
                ) from None
            objects += objs
            prefixes += prefs
            if token is None:
                return objects, prefixes, first_url

    def published_months(self, session: requests.Session) -> list[str]:
        """The months with a folder under ``composites/`` (any processing line), sorted."""
        _, prefixes, _ = self._list(session, f"{PREFIX}{SATELLITE}_", "/")
        months = set()
        for p in prefixes:
            m = re.fullmatch(rf"{PREFIX}{SATELLITE}_(\d{{4}})(\d{{2}})_[a-z0-9]+/", p or "")
            if m:
                months.add(f"{m[1]}-{m[2]}")
        return sorted(months)

    def newest_month(self, session: requests.Session) -> str | None:
        if self._newest is None:
            months = self.published_months(session)
            self._newest = months[-1] if months else ""
        return self._newest or None

    def candidate_months(self, session: requests.Session, first: str):
        for month in reversed(self.published_months(session)):
            if month_index(month) < month_index(first):
                return
            yield month

    def list_month(
        self,
        session: requests.Session,
        month: str,
        needed: list[str],
        epoch: str = "",
        index: dict | None = None,
    ) -> Manifest:
        ym = compact(month)
        objects, _, url = self._list(session, f"{PREFIX}{SATELLITE}_{ym}_")
        first, last = month_bounds(month)
        found: dict[tuple[str, str], dict[str, dict]] = {}
        others = []
        for o in objects:
            m = KEY_RE.match(o["key"] or "")
            if not m or m["ym"] != ym or m["start"] != first or not first <= m["end"] <= last:
                others.append(Path(o["key"] or "").name)
                continue
            if not VARIANT_RE[self.stray_light].match(m["variant"]):
                continue  # the other stray-light variant
            found.setdefault((m["proc"], m["variant"]), {})[m["layer"]] = o
        expected = self.series_in(month)
        product = expected[0].product if expected else f"{self.stray_light}"
        manifest = Manifest(
            source=NAME,
            month=month,
            granules=[],
            series=[{"product": product, "satellite": SATELLITE}],
            listing_urls=[url],
            epoch=epoch,
        )
        if not found:
            newest = self.newest_month(session)
            if newest is None or month_index(month) > month_index(newest):
                raise MissingFileError(
                    f"{month}: Light Every Night lists no composite for it at {url}; the newest "
                    f"month in the bucket is {newest or 'none'}: end the month range there or "
                    "earlier."
                )
            seen = f" (it lists {', '.join(sorted(others)[:3])})" if others else ""
            return self._absent(
                manifest,
                f"the bucket has no {self.stray_light} composite for {month}{seen}, a gap in "
                "Light Every Night",
            )
        # one processing line a month; should a month have two, the operational one
        (proc, variant), layers = sorted(found.items(), key=lambda kv: kv[0][0] != "ops")[0]
        product = f"{variant}_v10_{proc}"
        manifest.series = [{"product": product, "satellite": SATELLITE}]
        if len(found) > 1:
            manifest.notes.append(
                f"{month} has {len(found)} processing lines ("
                + ", ".join(f"{v}_v10_{p}" for p, v in sorted(found))
                + f"); reading {product}"
            )
        if "avg_rade9" not in layers or "n_cf" not in layers:
            lacking = "avg_rade9 (radiance)" if "avg_rade9" not in layers else "n_cf"
            return self._absent(
                manifest,
                f"{product} has no {lacking} file for {month} in the bucket (without it no pixel "
                "can be called observed)",
            )
        parts = tuple(
            Part(
                LAYER_KIND[layer],
                Path(layers[layer]["key"]).name,
                f"{self.base_url}/{quote(layers[layer]['key'])}",
                size=layers[layer]["size"],
                etag=layers[layer]["etag"],
                modified=layers[layer]["modified"],
            )
            for layer in ("avg_rade9", "n_cf")
        )
        read, window_bytes, note = self._choose(session, parts, index)
        if note:
            manifest.notes.append(note)
        manifest.granules.append(
            Granule(
                TILE,
                product,
                SATELLITE,
                read,
                parts,
                line=f"{proc}/{variant}",
                bytes_download=sum(p.size or 0 for p in parts),
                bytes_window=window_bytes,
            )
        )
        return manifest

    def _absent(self, manifest: Manifest, why: str) -> Manifest:
        product = manifest.series[0]["product"]
        manifest.absent.append({"product": product, "satellite": SATELLITE, "tile": TILE})
        manifest.notes.append(f"{why}; its pixels count as not observed")
        return manifest

    def _choose(self, session, parts, index) -> tuple[str, int | None, str | None]:
        """How to read the month (``len.read``): by window, or whole files; ``auto`` takes
        the fewer bytes, from the files' own block tables (one header read each)."""
        whole = sum(p.size or 0 for p in parts)
        why_not = self.may_read_by_window()
        if why_not and self.read != "download":
            return "download", None, f"reading whole files: {why_not}"
        if self.read == "download" or index is None:
            return ("window" if self.read == "window" else "download"), None, None
        from ..remote import needed_blocks, runs_of

        estimate = 0
        for p in parts:
            with self._remote(p) as tif:
                placed = self.tiles.lattice.placement(tif.ds.transform, tif.ds.shape, p.name)
                blocks = needed_blocks(index, placed, tif.block_shape)
                estimate += HEADER_BYTES + tif.block_bytes(blocks) + REQUEST_BYTES * runs_of(blocks)
        if self.read == "window" or estimate <= whole:
            return "window", estimate, None
        return (
            "download",
            estimate,
            f"reading whole files: the zones need about {estimate / 1e6:.0f} MB of the month's "
            f"{whole / 1e6:.0f} MB by window, so downloading is cheaper",
        )

    def complete(self, manifest: Manifest, needed: list[str]) -> str | None:
        if not manifest.granules:
            return manifest.notes[-1] if manifest.notes else "nothing is listed"
        return None

    # ------------------------------------------------------------------ files

    def verify(self, path: Path) -> None:
        """A whole GeoTIFF (:func:`sezlights.remote.verify_geotiff`)."""
        from ..remote import verify_geotiff

        verify_geotiff(path)

    def _remote(self, part: Part):
        """A bucket file open for window reads (anonymous; every read on its ETag)."""
        from ..remote import RemoteTiff

        return RemoteTiff(
            part.url,
            part.name,
            budget=self.shared.budget(),
            timeout=self.shared.timeout[1],
            etag=part.etag,
        )

    @contextlib.contextmanager
    def open(self, granule, files, session=None, kinds=KINDS, scratch=None):
        with tiff_bands(
            granule, files, kinds, self.tiles.lattice, self._remote, below=NODATA_BELOW
        ) as bands:
            yield bands


def _s3_code(body: bytes) -> str | None:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    code = root.find("Code")
    return code.text if code is not None else None
