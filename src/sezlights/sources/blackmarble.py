"""NASA Black Marble monthly (VNP46A3 from Suomi NPP, VJ146A3 from NOAA-20): every fact.

Evidence for each fact, with where it was seen: ``docs/evidence/blackmarble.md`` (§ below).

- Products (§7, §8): ``VNP46A3`` (Suomi NPP, ``npp``) from 2012-01; NASA ended the
  delivery of Suomi NPP products at 13:00 UTC on 2026-11-01, so no month after 2026-10
  (whether 2026-10 itself is produced is NOT confirmed: a month not listed is skipped by
  ``latest``, and its tiles count as absent). ``VJ146A3`` (NOAA-20, ``j01``) from 2018-01,
  same archive set, names, grid and HDF5 layout (the layout is PARTLY confirmed: a reader
  of a real VJ146A3 file opens the same group and datasets). Both are read over the
  months they exist; in the overlap a month has a row per satellite.
- Names (§1.1, §8): ``{PRODUCT}.A{YYYY}{DOY}.h{HH}v{VV}.{CCC}.{YYYYDDDhhmmss}.h5``, DOY the
  day of year of the month's first day, CCC ``002`` for Collection 2 (archive set 5200,
  CMR version "2") and ``001`` for Collection 1 (5000, VNP46A3 only).
- Two endpoints (``blackmarble.endpoint``):

  - ``cloud`` (default, §9-§10): granules found with CMR's granule search
    (``{cmr_url}granules.json``: short name, version, the month as a temporal window
    from 00:00:01 on its first day to 23:59:59 on its last, because a monthly granule
    ends at 00:00:00 on the next month's first day and CMR's boundaries are inclusive;
    2,000 a page, further pages through the ``CMR-Search-After`` header; no token), the
    file name from ``producer_granule_id``. Files come from
    ``{cloud_url}/{PRODUCT}/{file}`` (flat): with the token, a 303 (or 302) to a signed
    URL on another host, which is fetched *without* the token (S3 answers a request that
    carries both with 400 "Only one auth mechanism allowed"); a signed URL lives about an
    hour, and one that has expired mid-download is asked for again and the download
    resumed. A 401 is a refused token; an unexpired token that is refused most likely
    means the LAADS DAAC application is not approved in the Earthdata profile (NOT
    confirmed: the 401's body is unknown); 403 "EULA Acceptance Failure" names the EULA.
    CMR is called with the pipeline's own session (timeouts, retries): python-cmr and
    earthaccess call CMR without a timeout (§11), and a stalled search must not hang a job.
  - ``ladsweb`` (§1): ``{ladsweb_url}/{collection}/{PRODUCT}/{YYYY}/{DOY}.csv`` listings
    (only the ``name`` column is relied on), files beside them; the server answers a
    refused token with its Earthdata login page.

- HDF-EOS5 (§3-§4): datasets under ``HDFEOS/GRIDS/VIIRS_Grid_DNB_2d/Data Fields/``:
  ``<variable>`` radiance (C2: float32, fill -999.9; C1: uint16 x 0.1, fill 65535),
  ``<variable>_Num`` (uint16), ``<variable>_Quality`` (uint8: 0 good, 1 poor, 2 gap
  filled from earlier months with ``_Num`` 0, 255 fill). Fill, scale and offset come from
  each dataset's attributes where present. A gap-filled pixel accepted by
  ``blackmarble.quality`` counts as observed whatever ``stats.min_cloud_free``: its count
  is reported as at least that threshold. Values below 0.5 are stored as 0 (dark).
- A file whose tile attributes (``HorizontalTileNumber``/``VerticalTileNumber``) are not
  the tile of its name is refused: ALEPH found a real file named h12v09 holding h13v04's
  bytes (§10).
- Grid (§5): 36 x 18 tiles of 10 x 10 degrees, ``h00v00`` at (-180, 90), pixel edges on
  the tile corners, 2400 x 2400 pixels at 15".
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import io
import logging
import re
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import requests

from ..auth import StaticTokenSession, token_expiry
from ..download import Target, TryFailed
from ..errors import CorruptFileError, LoginError, MissingFileError, UserError
from ..grid import Lattice, TileSet
from ..http import describe_error, describe_status, make_session
from ..manifest import Granule, Manifest, Part
from ..months import from_index, month_bounds, month_index
from . import KINDS, Band, Grid, Series, Source, env_or

log = logging.getLogger(__name__)

NAME = "blackmarble"
CMR_URL = "https://cmr.earthdata.nasa.gov/search/"
CLOUD_URL = "https://data.laadsdaac.earthdatacloud.nasa.gov/prod-lads"
LADSWEB_URL = "https://ladsweb.modaps.eosdis.nasa.gov/archive/allData"
# product: (satellite, first month, last month or None)
PRODUCTS = {
    "VNP46A3": ("npp", "2012-01", "2026-10"),
    "VJ146A3": ("j01", "2018-01", None),
}
SUCCESSOR = {"VNP46A3": "VJ146A3"}
VERSIONS = {"5200": "002", "5000": "001"}  # archive set -> the version in file names
CMR_VERSIONS = {"5200": "2", "5000": "1"}
GROUP = "HDFEOS/GRIDS/VIIRS_Grid_DNB_2d/Data Fields"
TILE_DEG = 10.0
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
FILL = {"float32": -999.9, "uint16": 65535}  # radiance fill per dtype when no attribute says
QUALITY_FILL = 255
GAP_FILLED = 2  # quality class: gap filled from earlier months, _Num 0
NUM_FILL = 65535
LOGIN_HOSTS = ("urs.earthdata.nasa.gov",)
FILE_RE = re.compile(
    r"^(?P<product>VNP46A3|VJ146A3)\.A(?P<year>\d{4})(?P<doy>\d{3})\.(?P<tile>h\d{2}v\d{2})"
    r"\.(?P<version>\d{3})\.(?P<stamp>\d{13})\.h5$"
)
ROW_BLOCK = 256  # rows read at once from an HDF5 dataset that is not chunked
REQUEST_BYTES = 2048  # the cost of one more HTTP request, in bytes, when comparing ways
CMR_PAGE = 2000  # CMR's largest page
# a month's granules are searched by tile name when the zones need at most this many
# tiles (else the whole month: about 540 granules, one page), this many names a query
# (a URL of a few kB)
CMR_TILES_BY_NAME = 100
CMR_TILES_PER_QUERY = 40
APPROVE_URL = "https://urs.earthdata.nasa.gov/approve_app?client_id=A6th7HB-3EBoO7iOCiCLlA"


def lattice(pixel: float) -> Lattice:
    """Global, pixel edges on whole degrees: h00v00's corner is (-180, 90)."""
    return Lattice(
        pixel=pixel, west=-180.0, north=90.0, rows=round(180 / pixel), cols=round(360 / pixel)
    )


def tile_id(h: int, v: int) -> str:
    return f"h{h:02d}v{v:02d}"


def tileset(pixel: float) -> TileSet:
    """36 x 18 tiles of 10 x 10 degrees, ``h{HH}v{VV}``, h from the west, v from the north."""
    n = round(TILE_DEG / pixel)
    return TileSet(
        lattice=lattice(pixel),
        row_edges=tuple(i * n for i in range(19)),
        col_edges=tuple(j * n for j in range(37)),
        names=tuple(tuple(tile_id(h, v) for h in range(36)) for v in range(18)),
    )


def day_of_year(month: str) -> str:
    year, mm = (int(p) for p in month.split("-"))
    return f"{dt.date(year, mm, 1).timetuple().tm_yday:03d}"


def parse_csv_listing(text: str) -> list[tuple[str, int | None]]:
    """(name, size or None) from a LAADS month listing (only ``name`` is required)."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return []
    header = [h.strip().lower() for h in rows[0]]
    if "name" not in header:
        raise UserError("the LAADS listing has no 'name' column; check blackmarble.ladsweb_url.")
    i_name = header.index("name")
    i_size = header.index("size") if "size" in header else None
    out = []
    for row in rows[1:]:
        if len(row) <= i_name:
            continue
        size = None
        if i_size is not None and len(row) > i_size and row[i_size].strip().isdigit():
            size = int(row[i_size])
        out.append((row[i_name].strip(), size))
    return out


def cmr_data_link(entry: dict, name: str) -> str | None:
    """The granule's own HTTPS file link: a ``data#`` link that is not inherited from the
    collection and ends with the file name (CMR also lists ``s3://`` and OPeNDAP links,
    and inherited collection links, §10)."""
    for link in entry.get("links", []):
        href = str(link.get("href", ""))
        if (
            str(link.get("rel", "")).endswith("/data#")
            and not link.get("inherited")
            and href.startswith(("https://", "http://"))
            and href.split("?")[0].endswith("/" + name)
        ):
            return href
    return None


class SignedRedirect(Target):
    """A file on the Earthdata Cloud host: each try asks the host (with the token, no
    redirect followed) for a signed address, then GETs that address without the token;
    an expired signature is asked for again (§9)."""

    def __init__(self, session: requests.Session, url: str, source: BlackMarble):
        super().__init__(session, url)
        self.source = source
        # no Authorization, ever (a signed URL carries its own), but the same connections
        # and retries: the file's one budget (sezlights.http.child_session)
        self.plain = requests.Session()
        self.plain.headers["User-Agent"] = session.headers.get("User-Agent", "")
        for prefix, adapter in session.adapters.items():
            self.plain.mount(prefix, adapter)
        self._located: str | None = None

    def locate(self, timeout) -> tuple[requests.Session, str]:
        if self._located is None:
            self._located = self.source.signed_url(self.session, self.url, timeout)
        return self.plain, self._located

    def refused(self, response: requests.Response) -> bool:
        return False  # the signed host never asks for a login

    def expired(self, response: requests.Response) -> bool:
        if response.status_code == 403 and self._located is not None:
            self._located = None  # expired (or otherwise refused): ask the host again
            return True
        return False


class BlackMarble(Source):
    name = NAME
    label = "NASA Black Marble monthly (VNP46A3, VJ146A3)"
    short_label = "Black Marble"
    colour = "#d35400"
    order = 1
    download_resource = "laads_downloads"
    # libhdf5 runs behind h5py's lock: two threads read four tiles only 1.5x faster
    # (bench/results-hdf5.json), less than two months side by side; with one thread a
    # month's statistics also run beside the next month's download on two cores
    stats_threads = 1
    needs_login = True
    signature = HDF5_SIGNATURE

    def __init__(self, settings, shared=None):
        super().__init__(settings, shared)
        self.products = list(settings.get("products", ["VNP46A3", "VJ146A3"]))
        self.endpoint = settings.get("endpoint", "cloud")
        self.cmr_url = settings.get("cmr_url", CMR_URL).rstrip("/") + "/"
        self.cloud_url = settings.get("cloud_url", CLOUD_URL).rstrip("/")
        self.ladsweb_url = settings.get("ladsweb_url", LADSWEB_URL).rstrip("/")
        self.collection = str(settings.get("collection", "5200"))
        self.variable = settings.get("variable", "NearNadir_Composite_Snow_Free")
        self.quality = tuple(settings.get("quality", [0]))
        self.pixel = settings.get("pixel_arcsec", 15) / 3600.0
        self.absent_tiles = settings.get("absent_tiles", "unobserved")
        self.read = settings.get("read", "auto")
        # an accepted gap-filled pixel reports at least this count (see the module doc)
        self.min_cloud_free = self.shared.min_cloud_free
        if self.collection == "5000" and "VJ146A3" in self.products:
            from ..errors import ConfigError

            raise ConfigError(
                "blackmarble.products: VJ146A3 is published in Collection 2 only (archive set "
                '5200); set blackmarble.collection to "5200".'
            )

    # ------------------------------------------------------------------ facts

    @property
    def grid(self) -> Grid:
        return Grid(NAME, tileset(self.pixel))

    def series(self) -> list[Series]:
        return [Series(p, *PRODUCTS[p]) for p in self.products]

    def product_label(self) -> str:
        return f"Black Marble {', '.join(self.products)}"

    def successor_hint(self) -> str:
        later = [SUCCESSOR[p] for p in self.products if p in SUCCESSOR]
        if later:
            return (
                f" (NASA ended Suomi NPP deliveries on 2026-11-01); add {later[0]} (NOAA-20, "
                f"from 2018-01) to blackmarble.products for later months"
            )
        return super().successor_hint()

    def provenance(self) -> dict:
        return {
            "source": NAME,
            "label": self.label,
            "product": ", ".join(self.products),
            "collection": self.collection,
            "endpoint": self.endpoint,
            "variable": self.variable,
            "quality_accepted": list(self.quality),
        }

    # ------------------------------------------------------------------ login

    def credentials(self, env=None) -> str:
        token = env_or(env).get("EARTHDATA_TOKEN", "").strip()
        if not token:
            return "no EARTHDATA_TOKEN set"
        exp = token_expiry(token)
        until = f", valid until {dt.datetime.fromtimestamp(exp, dt.UTC):%Y-%m-%d}" if exp else ""
        return f"EARTHDATA_TOKEN{until}"

    def session(self, env=None) -> requests.Session:
        token = env_or(env).get("EARTHDATA_TOKEN", "").strip()
        if not token:
            raise LoginError(
                "Black Marble login failed: no Earthdata token; set EARTHDATA_TOKEN (log in at "
                "https://urs.earthdata.nasa.gov, Generate Token; see 'Login' in "
                "config/README.md)."
            )
        s = StaticTokenSession(
            token,
            refused_message=(
                "Black Marble login failed: LAADS refused EARTHDATA_TOKEN (it may have expired or "
                "been revoked, or LAADS DAAC is not approved in your Earthdata profile); "
                "generate a new one at https://urs.earthdata.nasa.gov and set EARTHDATA_TOKEN."
            ),
            expired_message=(
                "Black Marble login failed: EARTHDATA_TOKEN expired at {when}; generate a new "
                "one at https://urs.earthdata.nasa.gov (Generate Token) and set EARTHDATA_TOKEN."
            ),
        )
        return make_session(s)

    def check_login(self, env=None, month: str | None = None) -> None:
        """The token is there and not expired; on the Earthdata Cloud, the cloud host
        hands out a signed address for one granule with it (asked once, nothing fetched),
        so a refused token or an application not approved stops the run before any job.
        On ladsweb, see :meth:`_check_ladsweb`."""
        session = self.session(env)
        if self.endpoint != "cloud":
            self._check_ladsweb(session, month)
            return
        url = None
        for product in reversed(self.products):  # the newest product first
            entries = self._cmr_query(
                session, product, {"sort_key[]": "-start_date", "page_size": "1"}
            )
            for e in entries:
                name = str(e.get("producer_granule_id") or "")
                url = cmr_data_link(e, name) if FILE_RE.match(name) else None
                if url:
                    break
            if url:
                break
        if url is None:
            return  # nothing in CMR to try the token on: the listing says why
        try:
            self.signed_url(session, url, self.shared.timeout)
        except (TryFailed, requests.RequestException) as exc:
            raise UserError(
                f"could not check EARTHDATA_TOKEN at {url.split('?')[0]} ({exc}); try again later."
            ) from None

    def _check_ladsweb(self, session, month: str | None) -> None:
        """On ladsweb, the token is tried as the run's first listing and download would
        try it: ``month``'s listing (with the token, as the listing job sends it), then the
        first 8 bytes of one of its files (a ``Range`` request, which LAADS answers, §2.3).
        LAADS answers a refused token on a file with its Earthdata Login page (§2.2);
        what it answers on a listing is not known (§1.3), so a refused listing and a
        refused file both stop the run here, with the listing job's message. Nothing is
        checked when the month lists no file (its listing job says why)."""
        if not month:
            return
        for s in reversed(self.series_in(month)):  # the newest product first
            found, _ = self._ladsweb_files(session, s.product, month)
            if found:
                url = next(iter(found.values()))[1]
                break
        else:
            return
        try:
            r = session.get(
                url, headers={"Range": "bytes=0-7"}, stream=True, timeout=self.shared.timeout
            )
        except requests.RequestException as exc:
            raise UserError(
                f"could not check EARTHDATA_TOKEN at {url} ({describe_error(exc)}); check "
                "blackmarble.ladsweb_url and the network."
            ) from None
        with r:
            if r.status_code in (401, 403) or self.is_login_page(r):
                session.renew()  # a token given directly: raises its refused message

    def is_login_page(self, response: requests.Response) -> bool:
        """A redirect to Earthdata Login (on any hop), or its page itself."""
        for r in (*response.history, response):
            host = urlsplit(r.url).hostname or ""
            if host in LOGIN_HOSTS or urlsplit(r.url).path.startswith("/oauth/authorize"):
                return True
        ctype = response.headers.get("Content-Type", "").lower()
        if "text/html" in ctype and response.ok:
            return "earthdata login" in response.text[:20000].lower()
        return False

    def refused_token(self, session, status: int) -> LoginError:
        """The one message for a file request the cloud host refused with 401."""
        token = (session.bearer() if hasattr(session, "bearer") else "").removeprefix("Bearer ")
        exp = token_expiry(token) if token else None
        if exp is None:
            return LoginError(
                "Black Marble login failed: LAADS refused EARTHDATA_TOKEN (HTTP 401), which is "
                "not an Earthdata token; generate one at https://urs.earthdata.nasa.gov "
                "(Generate Token) and set EARTHDATA_TOKEN."
            )
        if exp < dt.datetime.now(dt.UTC).timestamp():
            when = dt.datetime.fromtimestamp(exp, dt.UTC)
            return LoginError(
                f"Black Marble login failed: EARTHDATA_TOKEN expired at {when:%Y-%m-%d %H:%M} "
                "UTC (HTTP 401); generate a new one at https://urs.earthdata.nasa.gov and set "
                "EARTHDATA_TOKEN."
            )
        return LoginError(
            "Black Marble login failed: LAADS refused a valid-looking EARTHDATA_TOKEN (HTTP "
            "401): approve the 'LAADS Web' application in your Earthdata profile (Applications, "
            f"Approve More Applications, or {APPROVE_URL}), or, if it is approved, the token "
            "was revoked: generate a new one."
        )

    def signed_url(self, session: requests.Session, url: str, timeout) -> str:
        """The signed address the cloud host redirects ``url`` to (§9)."""
        r = session.get(url, allow_redirects=False, timeout=timeout, stream=True)
        with r:
            if r.is_redirect and r.headers.get("Location"):
                return requests.compat.urljoin(url, r.headers["Location"])
            if r.status_code == 401:
                raise self.refused_token(session, 401)
            if r.status_code == 403:
                try:
                    body = r.json()
                except ValueError:
                    body = {}
                if "eula" in str(body.get("error_description", "")).lower():
                    where = body.get("resolution_url") or "https://urs.earthdata.nasa.gov"
                    raise LoginError(
                        f"Black Marble: LAADS requires a licence (EULA) your Earthdata account has "
                        f"not accepted; accept it at {where} while logged in, then run again."
                    )
                raise LoginError(
                    f"Black Marble: LAADS refused {Path(urlsplit(url).path).name} (HTTP 403); "
                    "check that your Earthdata account may download LAADS data."
                )
            if r.status_code == 404:
                raise MissingFileError(
                    f"{Path(urlsplit(url).path).name} is in CMR but the cloud host answers 404 at "
                    f"{url}; it may have been replaced: run again to list the month anew."
                )
            if r.ok:
                return url  # served without a redirect
            raise TryFailed(describe_status(r.status_code))

    def target(self, session, part: Part) -> Target:
        if self.endpoint == "cloud":
            return SignedRedirect(session, part.url, self)
        return super().target(session, part)

    # ------------------------------------------------------------------ listings

    def month_url(self, product: str, month: str) -> str:
        return f"{self.ladsweb_url}/{self.collection}/{product}/{month[:4]}/{day_of_year(month)}/"

    def _file_of(self, name: str, product: str, month: str) -> re.Match | None:
        """The name's match if it is a file of ``product`` and ``month`` in the collection."""
        m = FILE_RE.match(name)
        want = (product, month[:4], day_of_year(month), VERSIONS[self.collection])
        return m if m and (m["product"], m["year"], m["doy"], m["version"]) == want else None

    def _ladsweb_files(self, session, product: str, month: str):
        """{tile: (name, url, size, stamp)} of a month's ladsweb listing; None: not published."""
        url = self.month_url(product, month)
        text = self.fetch_listing(session, url.rstrip("/") + ".csv", "blackmarble.ladsweb_url")
        if text is None:
            return None, url
        found = {}
        for name, size in parse_csv_listing(text):
            m = self._file_of(name, product, month)
            if m is not None:
                self._keep_newer(found, m, (name, url + name, size, m["stamp"]), month)
        return (found or None), url

    def _cmr_files(self, session, product: str, month: str, tiles: list[str] | None = None):
        """{tile: (name, url, size, stamp)} of a month's granules in CMR; None: the month
        has none. With ``tiles`` (few enough), only those tiles' granules are asked for,
        by name patterns without a leading wildcard (``VNP46A3.A2019032.h23v05.002.*``:
        CMR allows at most 5 patterns with one per query, evidence blackmarble.md §10),
        in groups of :data:`CMR_TILES_PER_QUERY`; several values of a parameter match any
        of them (public code merges regions so, evidence §10). A month with none of
        those tiles is told from one not published by a one-granule search of the month."""
        first, last = month_bounds(month)
        params = {
            "short_name": product,
            "version": CMR_VERSIONS[self.collection],
            "temporal[]": f"{first[:4]}-{first[4:6]}-{first[6:]}T00:00:01Z,"
            f"{last[:4]}-{last[4:6]}-{last[6:]}T23:59:59Z",
            "page_size": str(CMR_PAGE),
        }
        url = f"{self.cmr_url}granules.json"
        if not tiles or len(tiles) > CMR_TILES_BY_NAME:
            found = self._cmr_search(session, url, params, product, month)
            return (found or None), url
        prefix = f"{product}.A{month[:4]}{day_of_year(month)}"
        version = VERSIONS[self.collection]
        found = {}
        for i in range(0, len(tiles), CMR_TILES_PER_QUERY):
            names = [f"{prefix}.{t}.{version}.*" for t in tiles[i : i + CMR_TILES_PER_QUERY]]
            query = {
                **params,
                "producer_granule_id[]": names,
                "options[producer_granule_id][pattern]": "true",
            }
            found.update(self._cmr_search(session, url, query, product, month))
        if not found:
            # none of the tiles: is the month published at all?
            one = self._cmr_search(session, url, {**params, "page_size": "1"}, product, month, 1)
            return ({} if one else None), url
        return found, url

    def _cmr_search(self, session, url, params, product, month, most: int | None = None):
        """{tile: (name, url, size, stamp)} of the granules a search finds, page by page
        (the ``CMR-Search-After`` header), or its first ``most`` entries."""
        headers, found, seen = {}, {}, 0
        while True:
            try:
                r = session.get(url, params=params, headers=headers, timeout=self.shared.timeout)
            except requests.RequestException as exc:
                raise UserError(
                    f"could not search CMR at {url} ({describe_error(exc)}); check "
                    "blackmarble.cmr_url and the network."
                ) from None
            if not r.ok:
                raise UserError(
                    f"CMR's granule search at {url} answered {describe_status(r.status_code)}; "
                    "try again later."
                )
            try:
                entries = r.json()["feed"]["entry"]
            except (ValueError, KeyError, TypeError):
                raise UserError(
                    f"{url} did not answer with CMR's granule feed; check blackmarble.cmr_url."
                ) from None
            for e in entries:
                name = str(e.get("producer_granule_id") or "")
                m = self._file_of(name, product, month)
                link = cmr_data_link(e, name) if m else None
                if m is None or link is None:
                    continue
                self._keep_newer(found, m, (name, link, None, m["stamp"]), month)
            seen += len(entries)
            after = r.headers.get("CMR-Search-After")
            if not entries or not after or (most is not None and seen >= most):
                break
            headers = {"CMR-Search-After": after}
        return found

    @staticmethod
    def _keep_newer(found: dict, m: re.Match, value: tuple, month: str) -> None:
        prev = found.get(m["tile"])
        if prev is None or value[3] > prev[3]:
            if prev is not None:
                log.warning(
                    "%s: tile %s is listed twice (stamps %s and %s); using the newer",
                    month,
                    m["tile"],
                    prev[3],
                    value[3],
                )
            found[m["tile"]] = value

    def list_month(
        self, session, month: str, needed: list[str], epoch: str = "", index=None
    ) -> Manifest:
        series = self.series_in(month)
        granules, absent, urls, unpublished, notes = [], [], [], [], []
        why_not = self.may_read_by_window()
        if why_not and self.read != "download":
            notes.append(f"files read whole: {why_not}")
        for s in series:
            if self.endpoint == "cloud":
                found, url = self._cmr_files(session, s.product, month, needed)
            else:
                found, url = self._ladsweb_files(session, s.product, month)
            urls.append(url)
            if found is None:
                unpublished.append(s.product)
                continue
            for t in self.tiles.ids:
                if t not in needed:
                    continue
                if t not in found:
                    absent.append({"product": s.product, "satellite": s.satellite, "tile": t})
                    continue
                name, link, size, stamp = found[t]
                part = Part("file", name, link, size=size, stamp=stamp)
                read, window_bytes, why, server = self._choose(session, part, t, index)
                if why:
                    notes.append(f"{name}: {why}")
                if server is not None:  # the server's own size (CMR gives rounded MB),
                    # ETag and date: reads by range are made conditional on them
                    size, etag, modified = server
                    part = Part("file", name, link, size, stamp, etag, modified)
                granule = Granule(t, s.product, s.satellite, read, (part,))
                granule = dataclasses.replace(
                    granule, bytes_download=part.size, bytes_window=window_bytes
                )
                granules.append(granule)
        if unpublished and len(unpublished) == len(series):
            where = f"in CMR ({urls[0]})" if self.endpoint == "cloud" else f"at {', '.join(urls)}"
            raise MissingFileError(
                f"{month}: {' and '.join(unpublished)} (collection {self.collection}) is not "
                f"published {where}; end the month range earlier or try again later."
            )
        notes += [f"{p} lists no file for {month}: its rows are left out" for p in unpublished]
        if absent and self.absent_tiles == "error":
            where = "in CMR" if self.endpoint == "cloud" else "in the month's listing"
            missing = ", ".join(sorted({f"{a['tile']} ({a['product']})" for a in absent}))
            raise MissingFileError(
                f"{month}: granule(s) missing {where} for tile(s) the zones need: {missing}; "
                "set blackmarble.absent_tiles: unobserved to count their pixels as not observed, "
                "or end the month range earlier."
            )
        if absent:
            log.warning(
                "%s: tile(s) %s are not published in the month's listing (LAADS's months can "
                "lack tiles); the zones' pixels there count as not observed",
                month,
                ", ".join(sorted({f"{a['tile']} ({a['product']})" for a in absent})),
            )
        published = [s for s in series if s.product not in unpublished]
        return Manifest(
            source=NAME,
            month=month,
            granules=granules,
            series=[{"product": s.product, "satellite": s.satellite} for s in published],
            absent=absent,
            listing_urls=urls,
            notes=notes,
            epoch=epoch,
        )

    def candidate_months(self, session, first: str):
        """From the newest month CMR has a granule of (any configured product; CMR sorts by
        ``-start_date``), back; on ladsweb, from this month back."""
        if self.endpoint != "cloud":
            yield from super().candidate_months(session, first)
            return
        newest = [m for p in self.products if (m := self._cmr_newest(session, p))]
        if not newest:
            return
        i = max(month_index(m) for m in newest)
        while i >= month_index(first):
            yield from_index(i)
            i -= 1

    def _cmr_query(self, session, product: str, extra: dict) -> list[dict]:
        """One page of CMR's granule search for ``product`` (``extra``: more parameters)."""
        url = f"{self.cmr_url}granules.json"
        params = {"short_name": product, "version": CMR_VERSIONS[self.collection], **extra}
        try:
            r = session.get(url, params=params, timeout=self.shared.timeout)
            entries = r.json()["feed"]["entry"] if r.ok else None
        except (requests.RequestException, ValueError, KeyError, TypeError):
            entries = None
        if entries is None:
            raise UserError(
                f"could not search CMR at {url} for {product}; check blackmarble.cmr_url and "
                "the network."
            )
        return entries

    def _cmr_newest(self, session, product: str) -> str | None:
        """The month of ``product``'s newest granule in CMR (None: CMR has none)."""
        for e in self._cmr_query(session, product, {"sort_key[]": "-start_date", "page_size": "1"}):
            m = FILE_RE.match(str(e.get("producer_granule_id") or ""))
            if m:
                d = dt.date(int(m["year"]), 1, 1) + dt.timedelta(days=int(m["doy"]) - 1)
                return f"{d.year:04d}-{d.month:02d}"
        return None

    def complete(self, manifest: Manifest, needed: list[str]) -> str | None:
        """A month is complete when every product of that month lists every needed tile
        (the newest month complete for the products configured)."""
        listed = {s["product"] for s in manifest.series}
        lacking = [s.product for s in self.series_in(manifest.month) if s.product not in listed]
        if lacking:
            return f"{' and '.join(lacking)} not published yet"
        if manifest.absent:
            tiles = sorted({a["tile"] for a in manifest.absent})
            return f"tile(s) {', '.join(tiles)} not listed yet"
        return super().complete(manifest, needed)

    # ------------------------------------------------------------------ files

    def stamp_of(self, name: str) -> str:
        m = FILE_RE.match(Path(name).name)
        return m["stamp"] if m else name

    def tile_of(self, file_name: str) -> str:
        m = FILE_RE.match(Path(file_name).name)
        if not m:
            raise ValueError(f"{file_name} is not a Black Marble monthly file name")
        return m["tile"]

    def verify(self, path: Path) -> None:
        import h5py

        path = Path(path)
        with open(path, "rb") as f:
            if f.read(8) != HDF5_SIGNATURE:
                raise CorruptFileError(
                    f"{path.name} is not an HDF5 file; delete it and run again to download it anew."
                )
        try:
            with h5py.File(path, "r") as h5:
                group = h5[GROUP]
                for name in (self.variable, f"{self.variable}_Num", f"{self.variable}_Quality"):
                    group[name][-1, :]  # the last row reads: the file is whole
                self._check_tile(h5, path.name.removesuffix(".part"))
        except (OSError, KeyError) as exc:
            raise CorruptFileError(
                f"{path.name} is not a readable Black Marble file ({exc}); delete it and run "
                "again to download it anew."
            ) from None

    def _check_tile(self, h5, name: str) -> None:
        """Refuse a file whose own tile numbers are not those of its name (§10)."""
        h, v = h5.attrs.get("HorizontalTileNumber"), h5.attrs.get("VerticalTileNumber")
        if h is None or v is None:
            return
        text = (np.asarray(h).ravel()[0], np.asarray(v).ravel()[0])
        h, v = (int(x.decode() if isinstance(x, bytes) else x) for x in text)
        if tile_id(h, v) != self.tile_of(name):
            raise CorruptFileError(
                f"{name} holds tile {tile_id(h, v)}, not the {self.tile_of(name)} its name says; "
                "delete it and run again to download it anew (report it to LAADS if it persists)."
            )

    def _range_file(self, session, part: Part):
        """The remote file as a file object whose reads are ranged GETs (its own budget,
        through the file's signed address on the cloud endpoint)."""
        from ..http import child_session
        from ..remote import RangeFile

        budget = self.shared.budget()
        target = self.target(child_session(session, budget), part)
        return RangeFile(
            target, part.name, budget, self.shared.timeout, etag=part.etag,
            modified=part.modified,
        )  # fmt: skip

    def _choose(self, session, part: Part, tile: str, index) -> tuple:
        """How to read one file (``blackmarble.read``): by range when its own layout makes
        that cheaper (chunks, or a contiguous dataset, read only where the zones are),
        else whole. Real files' chunking is not known (docs/evidence/blackmarble.md): each
        file's metadata decides, read with a few range requests. Returns the way, the
        estimated bytes by range, why a file is read whole (or ""), and the file's size,
        ETag and Last-Modified as the server says (None: not asked)."""
        if self.read == "download" or index is None or self.may_read_by_window():
            # (list_month says once why a source that may not be read by window is not)
            allowed = not self.may_read_by_window()
            return ("window" if self.read == "window" and allowed else "download"), None, "", None
        from ..remote import NoRangeSupport, opened_hdf5

        try:
            rf = self._range_file(session, part)
            with opened_hdf5(rf) as h5:
                data = self._range_bytes(h5, tile, index)
                estimate = rf.fetched + data + REQUEST_BYTES * rf.requests
        except NoRangeSupport:
            why = "the server does not answer ranged requests: read whole"
            return "download", None, why, None
        whole = rf.size or 0
        server = (rf.size, rf.etag, rf.modified)
        if self.read == "window" or not whole or estimate < whole:
            return "window", estimate, "", server
        why = (
            f"its layout makes a read by range no cheaper ({estimate / 1e6:.1f} of "
            f"{whole / 1e6:.1f} MB): read whole"
        )
        return "download", estimate, why, server

    def _range_bytes(self, h5, tile: str, index) -> int:
        """The bytes a read of the zones' pixels fetches from the tile's three datasets:
        the stored size of every chunk holding one (chunked datasets), or the needed rows
        (contiguous ones)."""
        from ..remote import needed_blocks

        window = self.tiles.window(tile)
        group = h5[GROUP]
        total = 0
        for name in (self.variable, f"{self.variable}_Num", f"{self.variable}_Quality"):
            ds = group[name]
            block = ds.chunks or (1, ds.shape[1])
            blocks = needed_blocks(index, window, block)
            if ds.chunks is None:
                total += len(np.unique(blocks[:, 0])) * ds.shape[1] * ds.dtype.itemsize
            else:
                for r, c in blocks:
                    info = ds.id.get_chunk_info_by_coord((int(r * block[0]), int(c * block[1])))
                    total += int(info.size or 0)
        return total

    @contextlib.contextmanager
    def open(self, granule, files, session=None, kinds=KINDS, scratch=None):
        import h5py

        part = granule.part("file")
        if granule.read == "window":
            from ..errors import ChangedFileError
            from ..remote import opened_hdf5

            rf = self._range_file(session, part)
            if part.size is not None and rf.size != part.size:
                raise ChangedFileError(
                    f"{part.name} changed on the server after its month was listed ({rf.size} "
                    f"bytes, not {part.size})"
                )
            with opened_hdf5(rf) as h5:
                yield self.bands(h5, part.name, kinds, random_access=True)
            return
        path = Path(files) / part.name
        with h5py.File(path, "r") as h5:
            yield self.bands(h5, path.name, kinds)

    def bands(self, h5, name: str, kinds=KINDS, random_access: bool = False) -> list[Band]:
        """Radiance (NaN where fill or a rejected quality class) and observation count,
        read by chunk-aligned row blocks (a downloaded file) or, ``random_access``, by
        window (only the chunks, or rows, holding zone pixels: a file read by range)."""
        window = self.tiles.window(self.tile_of(name))
        group = h5[GROUP]
        rad = group[self.variable]
        if rad.shape != (int(window.height), int(window.width)):
            raise UserError(
                f"{name}: {rad.shape[0]} x {rad.shape[1]} pixels, not the "
                f"{int(window.height)} x {int(window.width)} a {TILE_DEG:g} degree tile has at "
                "blackmarble.pixel_arcsec; fix the config."
            )
        num = group[f"{self.variable}_Num"]
        qual = group[f"{self.variable}_Quality"]
        out = []
        for kind in kinds:
            values = self._radiance(rad) if kind == "radiance" else self._counts()
            ds = rad if kind == "radiance" else num
            if random_access:
                # a contiguous dataset is read by rows (the file object caches blocks)
                block = ds.chunks or (1, ds.shape[1])
                read = _window_reader(ds, qual, values)
                out.append(Band(kind, window, block_shape=block, read=read))
            else:
                out.append(Band(kind, window, rows=_row_reader(ds, qual, values)))
        return out

    def _radiance(self, rad):
        """``values(raw, quality)``: radiance, NaN where fill or a rejected quality class."""
        fill = _attr(rad, "_FillValue", FILL.get(rad.dtype.name))
        scale = _attr(rad, "scale_factor", None)
        if scale is None:  # Collection 1 stored tenths of nW/cm2/sr as uint16
            scale = 0.1 if rad.dtype.kind == "u" else 1.0
        offset = _attr(rad, "add_offset", _attr(rad, "offset", 0.0))
        accepted = np.array(self.quality, dtype=np.int64)
        fill_value = np.asarray(fill, dtype=rad.dtype) if fill is not None else None

        def values(raw, q):
            q = q.astype(np.int64)
            out = raw.astype(np.float32) * np.float32(scale) + np.float32(offset)
            bad = ~np.isin(q, accepted) | (q == QUALITY_FILL)
            if fill_value is not None:
                bad |= raw == fill_value
            out[bad] = np.nan
            return out

        return values

    def _counts(self):
        """``values(num, quality)``: observations per pixel (0 where fill); an accepted
        gap-filled pixel reports at least ``min_cloud_free`` (see the module doc)."""
        gap_accepted = GAP_FILLED in self.quality
        floor = np.float32(self.min_cloud_free)

        def values(num, q):
            out = num.astype(np.float32)
            out[out >= NUM_FILL] = 0.0
            if gap_accepted:
                gap = q == GAP_FILLED
                out[gap] = np.maximum(out[gap], floor)
            return out

        return values


def _row_reader(ds, qual, values):
    """``rows(wanted)`` of a band: whole chunks of rows, each decompressed once."""

    def rows(wanted):
        wanted = np.asarray(wanted)
        for r0, r1 in _blocks(wanted, ds):
            block = values(ds[r0:r1, :], qual[r0:r1, :])
            for r in wanted[(wanted >= r0) & (wanted < r1)]:
                yield int(r), block[int(r) - r0]

    return rows


def _window_reader(ds, qual, values):
    """``read(window)`` of a band: the window's pixels only."""

    def read(w):
        r0, c0 = int(w.row_off), int(w.col_off)
        sl = (slice(r0, r0 + int(w.height)), slice(c0, c0 + int(w.width)))
        return values(ds[sl], qual[sl])

    return read


def _blocks(wanted: np.ndarray, ds) -> list[tuple[int, int]]:
    """Row blocks to read so that every wanted row is read once: whole chunks of the
    dataset (each compressed chunk is then decompressed once), only those holding a
    wanted row."""
    if wanted.size == 0:
        return []
    step = ds.chunks[0] if ds.chunks else ROW_BLOCK
    first = np.unique(wanted // step) * step
    return [(int(r0), int(min(r0 + step, ds.shape[0]))) for r0 in first]


def _attr(ds, name: str, default):
    if name not in ds.attrs:
        return default
    value = np.asarray(ds.attrs[name]).ravel()
    return value[0].item() if value.size else default
