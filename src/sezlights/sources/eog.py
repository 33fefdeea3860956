"""EOG VIIRS DNB monthly composites v10 (Earth Observation Group, Colorado School of Mines).

Every fact about the EOG service lives here. Evidence for each (public downloaders
and their test fixtures, as found in 2026): docs/evidence/eog.md, which also lists
what remains unknown.

- Layout: ``{base}/{YYYY}/{YYYYMM}/{product}/`` holds six tiles a month named
  ``SVDNB_npp_{start}-{end}_{tile}_{product}_v10_c{stamp}.tgz``. A month flown by
  NOAA-20 instead of Suomi NPP lives under ``{YYYY}/{YYYYMM}/NOAA-20/{product}/`` with
  ``SVDNB_j01_`` names: 2022-08 is the one known case (a Go test ``TestGetTileId`` and
  aiddata/geo-datasets ``datasets/viirs_ntl/main.py`` hard-code
  ``2022/202208/NOAA-20/vcmcfg``). The satellite is read from each file's name
  (``SVDNB_npp_`` / ``SVDNB_j01_``), in either folder: nothing public ties a prefix
  to a folder beyond that one month.
- Creation stamps are not fixed width: mostly ``YYYYMMDDhhmm`` (12 digits), but
  2014-01 vcmslcfg is ``c2015006171539`` (13), seen in several public fixtures. It is
  read as 2015-06-17 15:39 with a stray ``0`` after the year (an INFERENCE: the same
  month's vcmcfg is ``c201506171538``, and vcmslcfg stamps are the vcmcfg ones or a
  minute later in 2014-02 and 2014-03), see :func:`stamp_time`. They are listed,
  never guessed.
- Products: ``vcmcfg`` from 2012-04 (aiddata: "dataset starts in April 2012!"),
  ``vcmslcfg`` from 2014-01 (the GEE mirror's availability; its folders before that
  exist but are empty).
- Members: ``<stem>.avg_rade9h.tif`` (radiance) and ``<stem>.cf_cvg.tif`` (cloud-free
  coverage), no folder; older archives name the radiance ``avg_rade9.tif`` (no h), and
  archives also carry ``<stem>.cvg.tif`` and may carry others: skipped.
- Listings: Apache autoindex with the Apaxy theme, one ``<tr>`` per file with
  ``indexcolname`` and ``indexcolsize`` cells, sizes human-readable (``532M``):
  pyalanysis/pyalanysis ``tests/viirsdnb_utils.py``. Parsed with an HTML parser, never
  line by line.
- Login (since 2025): Keycloak realm ``eog`` at ``eogauth-new.mines.edu`` (ADB
  fishing-toolkit ``backend/utils/auth.py``; StonerYan's EOG downloader), password
  grant with the account's own client id and secret, issued by EOG on request; tokens
  last 5 minutes (several downloaders refresh at 4). The former public client
  ``eogdata_oidc`` is reported retired; Keycloak answers an unknown client with ``401
  invalid_client``. Without a valid token every data path, listings included, answers
  302 to ``/realms/eog/protocol/openid-connect/auth`` (client ``eogdata-new-apache``),
  whose login page answers 200.
- Grid: pixel centres on multiples of 15", so every tile's corner is half a pixel
  north-west of its nominal corner; 75N..65S.

The untiled tree (``monthly_notile/v10``, docs/evidence/eog-notile.md, § below):

- Layout as the tiled one (§1): ``{notile_url}/{YYYY}/{YYYYMM}/{product}/``, then
  ``NOAA-20/{product}/`` (2022-08), behind the same login and Apaxy listings (§4). Names
  ``SVDNB_{npp|j01}_{start}-{end}_global_{product}_v10_c{stamp}.{layer}.tif`` or
  ``.tif.gz``; both forms are seen, which months have which is not known (§1). The date
  range starts on the month's first day and may end before its last (``20230701-
  20230726``); the newest stamp wins. Layers ``avg_rade9h`` (radiance) and ``cf_cvg``;
  ``cvg`` and ``avg_rade9h.masked`` are skipped.
- One global file per layer on the tiles' lattice, one column and one row larger than
  360 x 140 degrees (86401 x 33601 at 15"; only the width is hinted for monthly files,
  §2): placed by its own geotransform and clipped to the lattice
  (:func:`sezlights.sources.tiff_band`).
- Internal layout: 256 x 256 tiles (2021) but one-row strips for the 2018-04/05
  replacements; after 2021 unknown (§2). Whether EOG answers ``Range`` is unknown (§3).
  Nothing is assumed: each month's radiance file is probed (one ranged GET: 206 or 200,
  size, ETag, Last-Modified) and its header read by GDAL; ``eog.layout`` decides from
  the bytes each way (:meth:`EOG._decide`). Values are read as the tiled archives' are
  (no nodata value: EOG's is not known, §2), so both ways give the same statistics.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import requests
from bs4 import BeautifulSoup

from .. import archive
from ..auth import PasswordGrantSession, StaticTokenSession
from ..errors import ConfigError, CorruptFileError, LoginError, MissingFileError, UserError
from ..grid import Lattice, TileSet
from ..http import make_session
from ..manifest import Granule, Manifest, Part
from ..months import compact, month_bounds, month_index
from ..tiffrows import StreamedTiff
from . import KINDS, Band, Grid, Series, Source, env_or, tiff_bands

log = logging.getLogger(__name__)

NAME = "eog"
BASE_URL = "https://eogdata.mines.edu/nighttime_light/monthly/v10"
TOKEN_URL = "https://eogauth-new.mines.edu/realms/eog/protocol/openid-connect/token"
# The public client EOG published for scripts until 2025 (reported retired since).
PUBLIC_CLIENT = ("eogdata_oidc", "2677ad81-521b-4869-8480-6d05b9e57d48")
PRODUCTS = {"vcmcfg": "2012-04", "vcmslcfg": "2014-01"}
# where a month's files may be, inside its folder: {product}/ (Suomi NPP, every month
# but one), then NOAA-20/{product}/ (2022-08). The satellite comes from each file's name.
FOLDERS = ("", "NOAA-20/")
NORTH, SOUTH = 75.0, -65.0  # latitude coverage of the composites
TILE_NAMES = (("75N180W", "75N060W", "75N060E"), ("00N180W", "00N060W", "00N060E"))
TILE_IDS = tuple(t for row in TILE_NAMES for t in row)
FILE_RE = re.compile(
    r"^SVDNB_(?P<satellite>npp|j01)_(?P<start>\d{8})-(?P<end>\d{8})_(?P<tile>"
    + "|".join(TILE_IDS)
    + r")_(?P<product>vcmcfg|vcmslcfg)_v10_c(?P<stamp>\d{12,14})\.tgz$"
)
MEMBER_KINDS = {
    "radiance": re.compile(r"(^|[._/])avg_rade9h?\.tif$"),
    "coverage": re.compile(r"(^|[._/])cf_cvg\.tif$"),
}
LOGIN_PATHS = ("/protocol/openid-connect/auth", "/login-actions/")
# the untiled tree (docs/evidence/eog-notile.md)
NOTILE_URL = "https://eogdata.mines.edu/nighttime_light/monthly_notile/v10"
LAYOUTS = ("tiles", "notile", "auto")
GLOBAL = "global"  # the granule (tile) name of an untiled month
NOTILE_RE = re.compile(
    r"^(?P<stem>SVDNB_(?P<satellite>npp|j01)_(?P<start>\d{8})-(?P<end>\d{8})_global_"
    r"(?P<product>vcmcfg|vcmslcfg)_v10_c(?P<stamp>\d{12,14}))\.(?P<layer>avg_rade9h?|cf_cvg)"
    r"\.tif(?P<gz>\.gz)?$"
)
NOTILE_KINDS = {"avg_rade9h": "radiance", "avg_rade9": "radiance", "cf_cvg": "coverage"}
TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic and BigTIFF
REQUEST_BYTES = 2048  # the cost of one more HTTP request, in bytes, when comparing ways
ACCOUNT_VARIABLES = ("EOG_USERNAME", "EOG_PASSWORD", "EOG_CLIENT_ID", "EOG_CLIENT_SECRET")
_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)([KMGTP]?)$")


def lattice(pixel: float) -> Lattice:
    """The global lattice: pixel centres on multiples of ``pixel``, so every tile's
    corner lies half a pixel north-west of its nominal corner (75N180W starts at
    -180 - p/2, 75 + p/2)."""
    return Lattice(
        pixel=pixel,
        west=-180.0 - pixel / 2,
        north=NORTH + pixel / 2,
        rows=round((NORTH - SOUTH) / pixel),
        cols=round(360.0 / pixel),
    )


def tileset(pixel: float) -> TileSet:
    """Six tiles: 120 degrees wide, 75N..0 and 0..65S."""
    return TileSet(
        lattice=lattice(pixel),
        row_edges=(0, round(NORTH / pixel), round((NORTH - SOUTH) / pixel)),
        col_edges=tuple(round(x / pixel) for x in (0, 120, 240, 360)),
        names=TILE_NAMES,
    )


def stamp_time(stamp: str) -> dt.datetime | None:
    """When a creation stamp says the file was made; None for a stamp it cannot read.

    12 digits ``YYYYMMDDhhmm``, 14 ``YYYYMMDDhhmmss``. 13 digits: the one public case,
    2014-01 vcmslcfg ``2015006171539``, is read as ``2015·0·06171539``, 2015-06-17
    15:39 with a stray ``0`` after the year. This is an INFERENCE (docs/evidence/eog.md,
    "Creation stamps"): the same month's vcmcfg tiles are ``201506171538``, and the
    other early vcmslcfg stamps equal the vcmcfg ones or come a minute later, while a
    year + day-of-year reading (2015-01-06) would date it five months before them.
    A 13-digit stamp without that ``0``, or whose rest is not a date, is not read.
    """
    digits = stamp if stamp.isdigit() else ""
    if len(digits) == 13 and digits[4] == "0":
        digits = digits[:4] + digits[5:]
    for width, fmt in ((12, "%Y%m%d%H%M"), (14, "%Y%m%d%H%M%S")):
        if len(digits) == width:
            try:
                return dt.datetime.strptime(digits, fmt)
            except ValueError:
                return None
    return None


def stamp_key(stamp: str) -> tuple:
    """A sort key for creation stamps that never raises: by the time they say, and
    a stamp :func:`stamp_time` cannot read by its digits (padded to 14), so odd
    stamps still order, and ties between equal times break by the text."""
    when = stamp_time(stamp)
    text = when.strftime("%Y%m%d%H%M%S") if when else stamp.ljust(14, "0")[:14]
    return (text, stamp)


def member_kind(name: str) -> str | None:
    for kind, rx in MEMBER_KINDS.items():
        if rx.search(name):
            return kind
    return None


def parse_size(text: str) -> int | None:
    """Apache's human-readable size (``532M``, ``1.1G``, ``45K``, ``512``; ``-``: none)."""
    m = _SIZE_RE.match(text.strip())
    if not m:
        return None
    scale = 1024 ** "_KMGTP".index(m[2] or "_")
    return int(float(m[1]) * scale)


class NotAListing(Exception):
    pass


def parse_listing(html: str) -> list[tuple[str, int | None]]:
    """(name, approximate size in bytes or None) of each entry of a directory index.

    Reads Apache's autoindex, with or without the Apaxy theme (a table whose rows
    have ``indexcolname``/``indexcolsize`` cells), and plain ``<pre>`` indexes
    (nginx, Apache's default), whatever the line layout. Folders end with ``/``.
    Raises :class:`NotAListing` for any other page (a login page, say).
    """
    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    heading = soup.find(["h1", "h2"])
    if not (title.startswith("Index of") or (heading and "Index of" in heading.get_text())):
        raise NotAListing(title or "(untitled page)")
    entries: list[tuple[str, int | None]] = []
    cells = soup.select("td.indexcolname")
    if cells:
        for cell in cells:
            link = cell.find("a", href=True)
            row = cell.find_parent("tr")
            size_cell = row.select_one("td.indexcolsize") if row else None
            size = parse_size(size_cell.get_text(strip=True)) if size_cell else None
            if link is not None:
                entries.append((link["href"], size))
    else:
        for link in soup.find_all("a", href=True):
            tail = link.next_sibling
            text = tail if isinstance(tail, str) else ""
            size = parse_size(text.split()[-1]) if text.split() else None
            entries.append((link["href"], size))
    out = []
    for href, size in entries:
        if href.startswith(("?", "#", "/")) or "://" in href or href in ("../", "./"):
            continue  # sort links, icons, parent folder, other sites
        name = unquote(href.split("?")[0].split("#")[0])
        if "/" in name.rstrip("/"):
            continue
        out.append((name, None if name.endswith("/") else size))
    return out


def notile_url(base_url: str) -> str:
    """The untiled tree beside the tiled one: ``.../monthly/v10`` -> ``.../monthly_notile/v10``
    (the two differ only in that segment, docs/evidence/eog-notile.md §1); EOG's own
    otherwise."""
    base = base_url.rstrip("/")
    if base.endswith("/monthly/v10"):
        return base[: -len("/monthly/v10")] + "/monthly_notile/v10"
    return NOTILE_URL


@dataclass
class Untiled:
    """A month's untiled files as listed: the folder, and per kind the plain ``.tif``
    (name, listed size) and the ``.tif.gz``."""

    folder: str
    stem: str
    satellite: str
    stamp: str
    tif: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    gz: dict[str, tuple[str, int | None]] = field(default_factory=dict)


@dataclass
class Measured:
    """The untiled files as their headers describe them: the parts (exact size, ETag,
    Last-Modified), the bytes a window read fetches, the bytes whole; ``why``: why not by
    window; ``whole_usable``: whether the files, downloaded whole, are worth reading (not
    when the server has no ranges, so no header could be read, nor for a file of one
    block, which every read would decompress whole)."""

    parts: tuple[Part, ...]
    window: int
    whole: int
    why: str | None = None
    whole_usable: bool = True


class EOG(Source):
    name = NAME
    label = "EOG VIIRS DNB monthly composites v10"
    short_label = "EOG"
    colour = "#1f4e79"
    order = 0
    download_resource = "eog_downloads"
    needs_login = True
    signature = b"\x1f\x8b"  # gzip

    def __init__(self, settings, shared=None):
        super().__init__(settings, shared)
        self.base_url = settings.get("base_url", BASE_URL).rstrip("/") + "/"
        self.product = settings.get("product", "vcmcfg")
        self.pixel = settings.get("pixel_arcsec", 15) / 3600.0
        self.token_url = settings.get("auth", {}).get("token_url", TOKEN_URL)
        self.layout = settings.get("layout", "auto")
        if self.layout not in LAYOUTS:
            raise ConfigError(f"eog.layout must be one of {', '.join(LAYOUTS)}.")
        self.notile_url = (settings.get("notile_url") or notile_url(self.base_url)).rstrip("/")

    @property
    def grid(self) -> Grid:
        return Grid(NAME, tileset(self.pixel))

    def series(self) -> list[Series]:
        # the satellite of each month comes from its files' names (2022-08: j01)
        return [Series(self.product, "npp", PRODUCTS[self.product])]

    def product_label(self) -> str:
        return f"EOG product {self.product}"

    def provenance(self) -> dict:
        return {"source": NAME, "label": self.label, "product": self.product}

    # ------------------------------------------------------------------ login

    def credentials(self, env: Mapping[str, str] | None = None) -> str:
        env = env_or(env)
        if env.get("EOG_TOKEN", "").strip():
            also = [v for v in ACCOUNT_VARIABLES if env.get(v)]
            if also:
                return (
                    "EOG_TOKEN (a token you got yourself; it cannot be renewed); it wins over "
                    f"{', '.join(also)}, set too: unset EOG_TOKEN to log in with "
                    f"{'them' if len(also) > 1 else 'it'} instead"
                )
            return "EOG_TOKEN (a token you got yourself; it cannot be renewed)"
        if env.get("EOG_USERNAME") and env.get("EOG_CLIENT_ID"):
            return (
                f"EOG_USERNAME={env['EOG_USERNAME']} with the client EOG_CLIENT_ID="
                f"{env['EOG_CLIENT_ID']} (password grant at {self.token_url})"
            )
        return "EOG_USERNAME/EOG_PASSWORD, EOG_CLIENT_ID/EOG_CLIENT_SECRET (not all set)"

    def session(self, env: Mapping[str, str] | None = None) -> requests.Session:
        env = env_or(env)
        token = env.get("EOG_TOKEN", "").strip()
        if token:
            if all(env.get(v) for v in ACCOUNT_VARIABLES):  # the account is there: use it
                instead = (
                    "unset EOG_TOKEN: it wins over EOG_USERNAME, EOG_PASSWORD, EOG_CLIENT_ID and "
                    "EOG_CLIENT_SECRET, which are set too and then log in (tokens renewed)."
                )
            else:
                instead = (
                    "unset EOG_TOKEN and set EOG_USERNAME, EOG_PASSWORD, EOG_CLIENT_ID and "
                    "EOG_CLIENT_SECRET instead, so that tokens are renewed."
                )
            s = StaticTokenSession(
                token,
                refused_message=(
                    "EOG login failed: EOG refused EOG_TOKEN (its tokens last 5 minutes, so it "
                    f"has probably expired); {instead}"
                ),
                expired_message=(
                    "EOG login failed: EOG_TOKEN expired at {when} (EOG's tokens last 5 "
                    f"minutes); {instead}"
                ),
            )
            return make_session(s)
        user, password = env.get("EOG_USERNAME", ""), env.get("EOG_PASSWORD", "")
        client_id, secret = env.get("EOG_CLIENT_ID", ""), env.get("EOG_CLIENT_SECRET", "")
        if not (user and password):
            raise LoginError(
                "EOG login failed: no credentials; set EOG_USERNAME, EOG_PASSWORD, "
                "EOG_CLIENT_ID and EOG_CLIENT_SECRET in the environment (or EOG_TOKEN for a "
                "token you got yourself). See 'Login' in config/README.md."
            )
        if client_id and not secret:
            raise LoginError(
                "EOG login failed: EOG_CLIENT_ID is set but EOG_CLIENT_SECRET is not; set both "
                "(EOG sends them together when it registers your account for scripted access)."
            )
        if not client_id:  # what EOG documented before 2025; refused now, and explained
            client_id, secret = PUBLIC_CLIENT
        s = PasswordGrantSession(
            self.token_url,
            client_id,
            secret,
            user,
            password,
            explain=self._explainer(client_id),
            timeout=self.shared.timeout,  # download.timeout: a stalled token endpoint never hangs
        )
        return make_session(s)

    def check_login(self, env: Mapping[str, str] | None = None, month: str | None = None) -> None:
        """The password grant logs in when its session is made; a token given directly
        (EOG_TOKEN) is tried on the top listing (EOG answers a refused token there with its
        login, as on every data path): refused, the message names what to unset."""
        session = self.session(env)
        if isinstance(session, StaticTokenSession):
            self.fetch_listing(session, self.base_url, "eog.base_url")

    def _explainer(self, client_id: str):
        public = client_id == PUBLIC_CLIENT[0]

        def explain(error: str, description: str) -> str:
            why = f" ({error}: {description})" if description else f" ({error})"
            if error in ("invalid_client", "unauthorized_client") and public:
                return (
                    "EOG login failed: EOG no longer accepts the public client: set "
                    "EOG_CLIENT_ID and EOG_CLIENT_SECRET (ask EOG for your account's client "
                    "credentials, see config/README.md)"
                )
            if error == "invalid_client":
                return (
                    f"EOG login failed: EOG does not know the client EOG_CLIENT_ID={client_id} "
                    f"or its secret{why}; check EOG_CLIENT_ID and EOG_CLIENT_SECRET (your "
                    "account's own, issued by EOG)."
                )
            if error == "unauthorized_client":
                return (
                    f"EOG login failed: EOG refused the secret of client {client_id}{why}; "
                    "check EOG_CLIENT_SECRET."
                )
            if error == "invalid_grant":
                return (
                    f"EOG login failed: EOG rejected the username or password{why}; check "
                    "EOG_USERNAME and EOG_PASSWORD."
                )
            if error == "unreachable":
                return (
                    f"EOG login failed: the token endpoint could not be reached ({description}); "
                    "check eog.auth.token_url and the network."
                )
            if error == "server_error":
                return (
                    f"EOG login failed: EOG's token endpoint gave no token ({description}); its "
                    "login service may be down: run again later (check eog.auth.token_url "
                    "if it persists)."
                )
            if error == "bad_response":
                return (
                    f"EOG login failed: {self.token_url} is not a token endpoint (it answered "
                    f"{description}); check eog.auth.token_url (see 'Login' in "
                    "config/README.md)."
                )
            if error == "token_error":
                return (
                    f"EOG login failed: the session's token could not be used ({description}); "
                    "run again."
                )
            return (
                f"EOG login failed at {self.token_url}{why}; check eog.auth.token_url and "
                "your EOG credentials."
            )

        return explain

    def is_login_page(self, response: requests.Response) -> bool:
        """A redirect to EOG's Keycloak login (on any hop), or its login form itself."""
        for r in (*response.history, response):
            loc = r.headers.get("Location", "") if r.is_redirect else ""
            if any(p in urlsplit(urljoin(r.url, loc)).path for p in LOGIN_PATHS if loc):
                return True
        if any(p in urlsplit(response.url).path for p in LOGIN_PATHS):
            return True
        ctype = response.headers.get("Content-Type", "").lower()
        return "text/html" in ctype and response.ok and _looks_like_login(response)

    # ------------------------------------------------------------------ listings

    def month_urls(self, month: str) -> dict[str, str]:
        """The folders a month's files may be in ({folder prefix: URL}), in the order
        they are listed: ``{product}/`` first, then ``NOAA-20/{product}/``."""
        ym = compact(month)
        return {
            folder: f"{self.base_url}{ym[:4]}/{ym}/{folder}{self.product}/" for folder in FOLDERS
        }

    def listing(self, session: requests.Session, url: str) -> list[tuple[str, int | None]] | None:
        """Entries of a folder; None if it does not exist (404)."""
        text = self.fetch_listing(session, url, "eog.base_url")
        if text is None:
            return None
        try:
            return parse_listing(text)
        except NotAListing as exc:
            raise UserError(
                f"{url} did not answer with a directory listing (a page titled {exc}); check "
                "eog.base_url."
            ) from None

    def list_month(
        self, session, month: str, needed: list[str], epoch: str = "", index=None
    ) -> Manifest:
        """The month's files (``eog.layout``): the tiled archives the zones need, or the
        untiled global files read by window (or whole), whichever :meth:`_decide` takes.

        Without ``index`` (the search for the newest month) nothing is measured: a month
        is complete when either tree lists it (``notile``: the untiled one first).
        """
        if self.layout == "tiles":
            return self._tiled_month(session, month, needed, epoch)
        if index is None:
            return self._listed_month(session, month, needed, epoch)
        return self._decide(session, month, needed, epoch, index)

    def _tiled_month(self, session, month: str, needed: list[str], epoch: str = "") -> Manifest:
        """The tiled archives the zones need (``needed``: tile ids)."""
        tried = []
        for url in self.month_urls(month).values():
            entries = self.listing(session, url) or []
            tried.append(url)
            found = self._newest_per_tile(month, entries)
            if found:
                break
        else:
            raise MissingFileError(
                f"{month}: no {self.product} tiles are listed at {' or '.join(tried)}; the month "
                "may not be published yet: end the month range earlier or try again later."
            )
        missing = [t for t in needed if t not in found]
        if missing:
            raise MissingFileError(
                f"{month}: tile(s) {', '.join(missing)} of product {self.product} are not listed "
                f"at {url}; the month may not be complete yet: end the month range earlier or "
                "try again later."
            )
        granules = []
        for t in TILE_IDS:
            if t in needed:
                name, size, stamp, satellite = found[t]
                part = Part("file", name, urljoin(url, name), size=size, stamp=stamp)
                granules.append(
                    Granule(t, self.product, satellite, "download", (part,), bytes_download=size)
                )
        # the month's satellites: its files' (from their names), else the listed tiles'
        satellites = sorted({g.satellite for g in granules} or {v[3] for v in found.values()})
        return Manifest(
            source=NAME,
            month=month,
            granules=granules,
            series=[{"product": self.product, "satellite": sat} for sat in satellites],
            listing_urls=[url],
            epoch=epoch,
        )

    # ------------------------------------------------------------------ the untiled tree

    def notile_urls(self, month: str) -> list[str]:
        """The untiled folders a month's files may be in, in the order they are listed."""
        ym = compact(month)
        return [f"{self.notile_url}/{ym[:4]}/{ym}/{folder}{self.product}/" for folder in FOLDERS]

    def _untiled(self, session, month: str) -> tuple[Untiled | None, list[str]]:
        """The month's untiled files (the newest stamp's), and the folders listed."""
        first, last = month_bounds(month)
        tried = []
        for url in self.notile_urls(month):
            tried.append(url)
            stems: dict[str, Untiled] = {}
            for name, size in self.listing(session, url) or []:
                m = NOTILE_RE.match(name)
                if not m or m["product"] != self.product:
                    continue
                if m["start"] != first or not first <= m["end"] <= last:
                    continue
                u = stems.setdefault(m["stem"], Untiled(url, m["stem"], m["satellite"], m["stamp"]))
                kind = NOTILE_KINDS[m["layer"]]
                (u.gz if m["gz"] else u.tif).setdefault(kind, (name, size))
            usable = [u for u in stems.values() if "radiance" in u.tif or "radiance" in u.gz]
            if usable:
                newest = max(usable, key=lambda u: stamp_key(u.stamp))
                if len(usable) > 1:
                    log.warning(
                        "%s: untiled files of %d stamps are listed; using the newest, %s",
                        month,
                        len(usable),
                        newest.stamp,
                    )
                return newest, tried
        return None, tried

    def _listed_month(self, session, month: str, needed: list[str], epoch: str) -> Manifest:
        """A month as listed, nothing measured (the newest-month search): the tiled
        archives, else (``notile``: first) untiled plain GeoTIFFs."""
        notile_first = self.layout == "notile" and not self.may_read_by_window()
        order = ("untiled", "tiles") if notile_first else ("tiles", "untiled")
        error = None
        for way in order:
            if way == "tiles":
                try:
                    return self._tiled_month(session, month, needed, epoch)
                except MissingFileError as exc:
                    error = error or exc
                    continue
            untiled, tried = self._untiled(session, month)
            if untiled is not None and set(KINDS) <= set(untiled.tif):
                parts = tuple(
                    Part(k, untiled.tif[k][0], untiled.folder + untiled.tif[k][0],
                         size=untiled.tif[k][1], stamp=untiled.stamp)
                    for k in KINDS
                )  # fmt: skip
                return self._untiled_manifest(month, untiled, parts, "window", epoch)
            error = error or MissingFileError(
                f"{month}: no untiled {self.product} GeoTIFFs are listed at "
                f"{' or '.join(tried)}; the month may not be published yet: end the month "
                "range earlier or try again later."
            )
        raise error

    def _untiled_manifest(
        self, month, untiled: Untiled, parts, read, epoch, window=None, whole=None
    ) -> Manifest:
        granule = Granule(
            GLOBAL,
            self.product,
            untiled.satellite,
            read,
            tuple(parts),
            bytes_download=whole,
            bytes_window=window,
        )
        return Manifest(
            source=NAME,
            month=month,
            granules=[granule],
            series=[{"product": self.product, "satellite": untiled.satellite}],
            listing_urls=[untiled.folder],
            epoch=epoch,
        )

    def _decide(self, session, month: str, needed: list[str], epoch: str, index) -> Manifest:
        """The cheapest way the layout allows, from the bytes each way would fetch.

        - ``notile``: the untiled files by window when a window read fetches fewer bytes
          than the files hold, else whole (a file of many blocks), else the tiled archives;
        - ``auto``: whichever of those, and the tiled archives (their listed sizes), costs
          the fewest bytes.

        The untiled files cannot be read by window when the month lists none, lists them
        only gzipped (``.tif.gz``), the server does not answer ranged requests, or a file
        is stored as one block: the month then reads the tiled archives, and a note says
        why (once per month, in the manifest). Nor are they when the jobs may not read
        EOG by window (:meth:`may_read_by_window`: ``download.local``, or executors where
        no credential may go): then nothing of the untiled tree is asked for.
        """
        why_not = self.may_read_by_window()
        if why_not:
            tiles = self._tiled_month(session, month, needed, epoch)
            tiles.notes.append(
                f"the untiled files are not read by window: {why_not}; reading the tiled archives"
            )
            return tiles
        untiled, tried = self._untiled(session, month)
        measured, why = None, None
        if untiled is None:
            why = f"no untiled {self.product} file is listed at {' or '.join(tried)}"
        else:
            lacking = [k for k in KINDS if k not in untiled.tif]
            gz = [untiled.gz[k][0] for k in lacking if k in untiled.gz]
            if gz:
                why = (
                    f"{', '.join(gz)} {'is' if len(gz) == 1 else 'are'} listed only gzipped "
                    "(.tif.gz), which cannot be read by window"
                )
            elif lacking:
                why = f"the untiled files of {untiled.stamp} lack the {' and '.join(lacking)}"
            else:
                measured = self._measure(session, untiled, index)
                why = measured.why
        tiles, tiles_error = None, None
        if self.layout == "auto" or measured is None or not measured.whole_usable:
            try:
                tiles = self._tiled_month(session, month, needed, epoch)
            except MissingFileError as exc:
                tiles_error = exc
        by_window = measured is not None and measured.why is None
        whole_ok = measured is not None and measured.whole_usable
        costs = {}
        if by_window:
            costs["window"] = measured.window
        if tiles is not None:
            costs["tiles"] = sum(g.bytes_download or 0 for g in tiles.granules)
        if whole_ok:
            costs["download"] = measured.whole
        if self.layout == "notile" and (by_window or whole_ok):
            costs.pop("tiles", None)
        if not costs:
            raise tiles_error or MissingFileError(f"{month}: {why}")
        way = min(costs, key=lambda k: (costs[k], ("window", "tiles", "download").index(k)))
        if way == "tiles":
            if why:
                tiles.notes.append(f"{why}; reading the tiled archives")
            else:
                tiles.notes.append(
                    f"reading the tiled archives ({_mb(costs['tiles'])}): the untiled files "
                    f"would cost {_mb(measured.window)} by window, {_mb(measured.whole)} whole"
                )
            return tiles
        manifest = self._untiled_manifest(
            month, untiled, measured.parts, way, epoch, measured.window, measured.whole
        )
        if way == "download":
            manifest.notes.append(
                f"downloading the untiled files whole ({_mb(measured.whole)}): "
                + (f"{why}" if why else f"by window the zones would need {_mb(measured.window)}")
                + (f", the tiled archives hold {_mb(costs['tiles'])}" if "tiles" in costs else "")
            )
        else:
            log.info(
                "%s: by window about %d bytes; the untiled files hold %d bytes%s",
                month,
                measured.window,
                measured.whole,
                f", the tiled archives {costs['tiles']}" if "tiles" in costs else "",
            )
        return manifest

    def _measure(self, session, untiled: Untiled, index) -> Measured:
        """Probe each untiled file (a ranged GET: size, ETag, Last-Modified) and read its
        header (GDAL): the bytes a window read would fetch (header, needed blocks, one
        request per run of blocks) against the bytes whole."""
        from ..remote import HEADER_BYTES, NoRangeSupport, needed_blocks, probe, runs_of

        parts, window, whole = [], 0, 0
        for kind in KINDS:
            name, listed = untiled.tif[kind]
            url = untiled.folder + name
            try:
                ident = probe(session, url, self.shared.timeout, refused=self.is_login_page)
            except NoRangeSupport:
                return Measured(
                    (),
                    0,
                    0,
                    whole_usable=False,
                    why=f"the server answers a ranged request for {name} with the whole file "
                    "(no Range support), so it cannot be read by window",
                )
            size = ident.size if ident.size is not None else listed
            part = Part(
                kind,
                name,
                url,
                size=size,
                stamp=untiled.stamp,
                etag=ident.etag,
                modified=ident.modified,
            )
            with self._remote(part, session) as tif:
                placed = self.tiles.lattice.placement(tif.ds.transform, tif.ds.shape, name)
                bh, bw = tif.block_shape
                h, w = tif.ds.shape
                if (bh, bw) == (h, w) or (bh >= h and bw >= w):
                    return Measured(
                        (),
                        0,
                        0,
                        whole_usable=False,
                        why=f"{name} is stored as one block of {w} x {h} pixels, so any read "
                        "by window fetches all of it",
                    )
                blocks = needed_blocks(index, placed, (bh, bw))
                cost = HEADER_BYTES + tif.block_bytes(blocks) + REQUEST_BYTES * runs_of(blocks)
            parts.append(part)
            window += cost
            whole += size or 0
        why = None
        if window >= whole:
            why = (
                f"the zones need about {_mb(window)} of the untiled files' {_mb(whole)} by "
                "window (their blocks are that large)"
            )
        return Measured(tuple(parts), window, whole, why=why)

    def _remote(self, part: Part, session):
        """The untiled file ``part`` open for window reads with the session's token."""
        from ..remote import RemoteTiff

        bearer = getattr(session, "bearer", None)
        return RemoteTiff(
            part.url,
            part.name,
            budget=self.shared.budget(),
            timeout=self.shared.timeout[1],
            etag=part.etag,
            modified=None if part.etag else part.modified,
            bearer=(lambda: bearer().split(" ", 1)[1]) if bearer else None,
            renew=getattr(session, "renew", None),
        )

    def _newest_per_tile(self, month: str, entries) -> dict:
        """{tile: (name, size, stamp, satellite)} of the month's files in a listing,
        the newest stamp of a tile listed twice. The satellite comes from the name
        (``SVDNB_npp_`` or ``SVDNB_j01_``), whichever folder lists it. A name's date range
        must start on the month's first day and end within the month: EOG's ranges can
        end before the month does (2022-07 tiles cover ``20220701-20220726``,
        docs/evidence/eog-notile.md)."""
        first, last = month_bounds(month)
        found: dict[str, tuple[str, int | None, str, str]] = {}
        for name, size in entries:
            m = FILE_RE.match(name)
            if not m or m["product"] != self.product:
                continue
            if m["start"] != first or not first <= m["end"] <= last:
                continue
            tile, stamp, satellite = m["tile"], m["stamp"], m["satellite"]
            prev = found.get(tile)
            newer = prev is None or stamp_key(stamp) > stamp_key(prev[2])
            if prev is not None and prev[0] != name:
                label = {
                    n: f"{st} ({sat})" if prev[3] != satellite else st
                    for n, st, sat in ((prev[0], prev[2], prev[3]), (name, stamp, satellite))
                }
                kept, other = (name, prev[0]) if newer else (prev[0], name)
                log.warning(
                    "%s: tile %s is listed twice (stamps %s and %s); using the newer %s",
                    month,
                    tile,
                    label[other],
                    label[kept],
                    label[kept],
                )
            if newer:
                found[tile] = (name, size, stamp, satellite)
        return found

    def candidate_months(self, session: requests.Session, first: str):
        """The month folders EOG lists, newest first (from the year folders down)."""
        years = sorted(
            n.rstrip("/")
            for n, _ in (self.listing(session, self.base_url) or [])
            if re.fullmatch(r"\d{4}/", n)
        )
        for year in reversed(years):
            listed = self.listing(session, f"{self.base_url}{year}/") or []
            months = sorted(n.rstrip("/") for n, _ in listed if re.fullmatch(rf"{year}\d\d/", n))
            for ym in reversed(months):
                month = f"{ym[:4]}-{ym[4:]}"
                if month_index(month) < month_index(first):
                    return
                yield month

    def complete(self, manifest: Manifest, needed: list[str]) -> str | None:
        return None  # list_month raises for any needed tile not listed

    # ------------------------------------------------------------------ files

    def stamp_of(self, name: str) -> str:
        m = FILE_RE.match(Path(name).name) or NOTILE_RE.match(Path(name).name)
        return m["stamp"] if m else name

    def tile_of(self, file_name: str) -> str:
        if NOTILE_RE.match(Path(file_name).name):
            return GLOBAL
        m = FILE_RE.match(Path(file_name).name)
        if not m:
            raise ValueError(f"{file_name} is not an EOG monthly tile archive name")
        return m["tile"]

    def signature_of(self, part: Part):
        """A tile archive is gzip; an untiled file a (Big)TIFF."""
        return TIFF_MAGIC if part.name.endswith(".tif") else self.signature

    def verify(self, path: Path) -> None:
        with open(path, "rb") as f:
            untiled = f.read(4) in TIFF_MAGIC  # an untiled file, downloaded whole
        if untiled:
            from ..remote import verify_geotiff

            return verify_geotiff(path)
        kinds = {member_kind(name) for name in archive.verify(path)}
        lacking = [k for k in KINDS if k not in kinds]
        if lacking:
            names = {"radiance": "avg_rade9h.tif (or avg_rade9.tif)", "coverage": "cf_cvg.tif"}
            raise CorruptFileError(
                f"{Path(path).name} holds no {' or '.join(names[k] for k in lacking)}; delete it "
                "and run again to download it anew."
            )

    @contextlib.contextmanager
    def open(self, granule, files, session=None, kinds=KINDS, scratch=None):
        if granule.tile != GLOBAL:
            yield self.bands(Path(files) / granule.part("file").name, kinds, scratch)
            return

        def remote(part):
            if not part.etag:
                self._same_file(session, part)
            return self._remote(part, session)

        # as the tiled archives are read: values as they are (no nodata value)
        with tiff_bands(granule, files, kinds, self.tiles.lattice, remote, nodata=False) as b:
            yield b

    def _same_file(self, session, part: Part) -> None:
        """Without an ETag: the file must still have the size and date the listing saw
        (and every read is conditional on that date, ``If-Unmodified-Since``)."""
        from ..errors import ChangedFileError
        from ..remote import probe

        now = probe(session, part.url, self.shared.timeout, refused=self.is_login_page)
        then = (part.size, part.modified)
        if any(
            a is not None and a != b for a, b in zip(then, (now.size, now.modified), strict=True)
        ):
            raise ChangedFileError(
                f"{part.name} changed on the server after its month was listed (size or date "
                f"{part.size}, {part.modified} then; {now.size}, {now.modified} now)"
            )

    def bands(self, path: Path, kinds=KINDS, scratch: Path | None = None) -> Iterator[Band]:
        """The archive's bands, read from its stream (see :mod:`sezlights.tiffrows`), in
        the archive's order: each band's rows must be read before the next band."""
        path = Path(path)
        expected = self.tiles.window(self.tile_of(path.name))
        seen = set()
        for member in archive.members(path):
            kind = member_kind(member.name)
            if kind not in kinds or kind in seen:
                continue
            label = f"{path.name} ({Path(member.name).name})"
            with StreamedTiff(member.file, member.size, label, scratch) as tif:
                window = self.tiles.lattice.offset_of(tif.transform, tif.shape, label)
                if window != expected:
                    raise UserError(
                        f"{label}: it covers pixels {window} of the grid, not those of tile "
                        f"{self.tile_of(path.name)}; it is not the tile its name says."
                    )
                seen.add(kind)
                yield Band(kind, window, rows=tif.rows)
        lacking = [k for k in kinds if k not in seen]
        if lacking:
            raise CorruptFileError(
                f"{path.name} holds no {'/'.join(lacking)} band; delete it and run again to "
                "download it anew."
            )


def _mb(n: int | None) -> str:
    return "? MB" if n is None else f"{n / 1e6:,.1f} MB"


def _looks_like_login(response: requests.Response) -> bool:
    low = response.text[:20000].lower()
    return "kc-form-login" in low or "<title>sign in" in low or "<title>log in" in low
