"""NASA Black Marble VNP46A3 monthly (LAADS DAAC): every fact about the source.

Evidence (public code and issues, 2025-26; each fact with where it was seen:
``docs/evidence/blackmarble.md``):

- Files: ``{base}/{collection}/VNP46A3/{YYYY}/{DOY}/`` holds
  ``VNP46A3.A{YYYY}{DOY}.h{HH}v{VV}.{CCC}.{stamp}.h5``, DOY the day of year of the
  month's first day (public Python and R scripts compute ``date(y, m,
  1).timetuple().tm_yday``), CCC ``002`` for archive set 5200 (Collection 2, what
  worldbank/blackmarbler uses since 2025-07) and ``001`` for 5000; the production
  stamp is ``YYYYDDDhhmmss`` (13 digits, NASA's file-naming page for VNP46A1).
- A month's file list is published as ``{YYYY}/{DOY}.csv`` (blackmarbler's
  ``read_black_marble_csv`` reads its ``name`` column; the other columns are not
  confirmed, so only ``name`` is required and ``size`` used when present); an
  unpublished month answers 404. A month's listing need not hold every tile (Collection 2
  covers land and water, yet ALEPH counted 536-540 of the 648 tiles a month): a needed
  tile absent from the listing is recorded and its pixels count as not observed, not an
  error; ``latest`` only takes a month listing every needed tile.
- Login: ``Authorization: Bearer <Earthdata token>`` (blackmarblepy, blackmarbler), sent
  with every request, listings included (they may need it: blackmarbler #25); a bad token
  is answered by a redirect to Earthdata Login (an HTML page), 401 or 403: all are login
  failures here. LAADS stalls clients that open many connections
  (several public scripts), hence the ``laads_downloads`` resource.
- HDF-EOS5: datasets under ``HDFEOS/GRIDS/VIIRS_Grid_DNB_2d/Data Fields/``:
  ``<variable>`` radiance (Collection 2: float32, fill -999.9; Collection 1: uint16,
  fill 65535, x0.1), ``<variable>_Num`` observation count (uint16; 0 on fill pixels in a
  real file, 65535 also read as none), ``<variable>_Quality`` (0 good: more than 3
  observations, 1 poor, 2 gap filled from history, 255 fill: blackmarblepy's docstring).
  Fill, scale and offset are read from each dataset's own attributes where present
  (``_FillValue``, ``scale_factor``, ``add_offset`` or ``offset``: newest blackmarblepy
  reads ``offset``), else the collection's values. Radiance values below 0.5 are stored
  as 0: dark, not missing.
- A gap-filled pixel (quality 2) has ``_Num`` 0 (ALEPH measured 1,784,479 of them): its
  value is a temporal gap fill from earlier months, not an observation. When
  ``blackmarble.quality`` accepts class 2, the coverage band reports such a pixel's count
  as at least ``stats.min_cloud_free``, so that it counts as observed (the shared
  statistics' rule is count >= ``min_cloud_free``) and its ``cf_cvg_*`` count is that
  threshold.
- Grid: 36 x 18 tiles of 10 x 10 degrees, ``h00v00`` at (-180, 90), 2400 x 2400 pixels
  of 15", pixel edges on the tile corners (StructMetadata of a VNP46A1 C2 file:
  ``UpperLeftPointMtrs=(-100000000.000000,20000000.000000)`` for h08v07).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import requests

from ..auth import StaticTokenSession
from ..errors import CorruptFileError, LoginError, MissingFileError, UserError
from ..grid import Lattice, TileSet
from ..http import make_session
from ..months import from_index, month_index
from . import KINDS, MAX_SKIPPED, Band, Source, env_or

log = logging.getLogger(__name__)

NAME = "blackmarble"
BASE_URL = "https://ladsweb.modaps.eosdis.nasa.gov/archive/allData"
FIRST_MONTH = "2012-01"  # NASA CMR: VNP46A3 v2 starts 2012-01-01
VERSIONS = {"5200": "002", "5000": "001"}
GROUP = "HDFEOS/GRIDS/VIIRS_Grid_DNB_2d/Data Fields"
TILE_DEG = 10.0
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
FILL = {"float32": -999.9, "uint16": 65535}  # radiance fill per dtype when no attribute says
QUALITY_FILL = 255
GAP_FILLED = 2  # quality class: gap filled from earlier months, _Num 0
NUM_FILL = 65535
LOGIN_HOSTS = ("urs.earthdata.nasa.gov",)
FILE_RE = re.compile(
    r"^(?P<product>VNP46A3)\.A(?P<year>\d{4})(?P<doy>\d{3})\.(?P<tile>h\d{2}v\d{2})"
    r"\.(?P<version>\d{3})\.(?P<stamp>\d{13})\.h5$"
)
ROW_BLOCK = 256  # rows read at once from an HDF5 dataset that is not chunked


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
        raise UserError("the LAADS listing has no 'name' column; check blackmarble.base_url.")
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


class BlackMarble(Source):
    name = NAME
    label = "NASA Black Marble VNP46A3 monthly"
    resource = "laads_downloads"
    signature = HDF5_SIGNATURE

    def __init__(self, config: Mapping):
        super().__init__(config)
        bm = config["blackmarble"]
        self.base_url = bm["base_url"].rstrip("/")
        self.collection = str(bm["collection"])
        self.product = bm["product"]
        self.variable = bm["variable"]
        self.quality = tuple(bm["quality"])
        self.pixel = bm["pixel_arcsec"] / 3600.0
        # an accepted gap-filled pixel reports at least this count (see the module doc)
        self.min_cloud_free = float(config.get("stats", {}).get("min_cloud_free", 1))

    @property
    def tiles(self) -> TileSet:
        return tileset(self.pixel)

    @property
    def first_month(self) -> str:
        return FIRST_MONTH

    def product_label(self) -> str:
        return f"Black Marble {self.product}"

    def provenance(self) -> dict:
        return {
            "source": NAME,
            "label": self.label,
            "product": self.product,
            "collection": self.collection,
            "variable": self.variable,
            "quality_accepted": list(self.quality),
        }

    # ------------------------------------------------------------------ login

    def session(self, env: Mapping[str, str] | None = None) -> requests.Session:
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
                "Black Marble login failed: LAADS refused EARTHDATA_TOKEN (it may have expired: "
                "Earthdata tokens last 60 days, or LAADS is not authorized in your Earthdata "
                "profile); generate a new one at https://urs.earthdata.nasa.gov and set "
                "EARTHDATA_TOKEN."
            ),
            expired_message=(
                "Black Marble login failed: EARTHDATA_TOKEN expired at {when}; generate a new "
                "one at https://urs.earthdata.nasa.gov and set EARTHDATA_TOKEN."
            ),
        )
        return make_session(s)

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

    # ------------------------------------------------------------------ listings

    def month_url(self, month: str) -> str:
        return f"{self.base_url}/{self.collection}/{self.product}/{month[:4]}/{day_of_year(month)}/"

    def listing(self, session: requests.Session, month: str) -> list[tuple[str, int | None]] | None:
        text = self.fetch_listing(
            session, self.month_url(month).rstrip("/") + ".csv", "blackmarble.base_url"
        )
        return None if text is None else parse_csv_listing(text)

    def list_month(self, session: requests.Session, month: str, needed: list[str]) -> dict:
        entries = self.listing(session, month)
        url = self.month_url(month)
        if not entries:
            raise MissingFileError(
                f"{month}: {self.product} (collection {self.collection}) is not published at "
                f"{url}; end the month range earlier or try again later."
            )
        found: dict[str, tuple[str, int | None, str]] = {}
        for name, size in entries:
            m = self._month_file(name, month)
            if m is None:
                continue
            prev = found.get(m["tile"])
            if prev is None or m["stamp"] > prev[2]:
                if prev is not None:
                    log.warning(
                        "%s: tile %s is listed twice (stamps %s and %s); using the newer",
                        month,
                        m["tile"],
                        prev[2],
                        m["stamp"],
                    )
                found[m["tile"]] = (name, size, m["stamp"])
        absent = [t for t in needed if t not in found]
        if absent:
            log.warning(
                "%s: tile(s) %s are not published in the month's listing (LAADS's months can "
                "lack tiles); the zones' pixels there count as not observed",
                month,
                ", ".join(absent),
            )
        files = [
            {
                "tile": t,
                "name": found[t][0],
                "url": url + found[t][0],
                "stamp": found[t][2],
                "size": found[t][1],
                "satellite": "npp",
            }
            for t in self.tiles.ids
            if t in needed and t in found
        ]
        return {
            "source": NAME,
            "month": month,
            "product": self.product,
            "collection": self.collection,
            "satellite": "npp",
            "listing_url": url,
            "files": files,
            "tiles_not_needed": [],  # the listing holds hundreds of tiles: not repeated here
            "tiles_absent": absent,
        }

    def _month_file(self, name: str, month: str) -> re.Match | None:
        """The name's match if it is a file of ``month`` in the configured collection."""
        m = FILE_RE.match(name)
        want = (month[:4], day_of_year(month), VERSIONS[self.collection])
        return m if m and (m["year"], m["doy"], m["version"]) == want else None

    def latest_month(
        self, session: requests.Session, needed: list[str], first: str
    ) -> tuple[str, list[str]]:
        """The newest month whose listing holds every needed tile, filtered as
        :meth:`list_month` filters (collection version, year, day of year)."""
        today = dt.datetime.now(dt.UTC)
        i = month_index(f"{today.year:04d}-{today.month:02d}")
        skipped: list[str] = []
        while i >= month_index(max(first, FIRST_MONTH)) and len(skipped) < MAX_SKIPPED:
            month = from_index(i)
            entries = self.listing(session, month)
            tiles = {m["tile"] for n, _ in entries or [] if (m := self._month_file(n, month))}
            missing = [t for t in needed if t not in tiles]
            if entries and tiles and not missing:
                return month, skipped
            if not entries:
                why = "not published yet"
            elif not tiles:
                why = f"no collection {self.collection} file listed"
            else:
                why = f"tile(s) {', '.join(missing)} not listed yet"
            skipped.append(f"skipped {month}: {self.product} {why}")
            i -= 1
        raise UserError(
            f"no month of {self.product} from {first} on lists every tile the zones need at "
            f"{self.base_url}/{self.collection}/ (set months.end to a month instead of latest); "
            + "; ".join(skipped[:3])
        )

    # ------------------------------------------------------------------ files

    def tile_of(self, file_name: str) -> str:
        m = FILE_RE.match(Path(file_name).name)
        if not m:
            raise ValueError(f"{file_name} is not a {self.product} file name")
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
                    ds = group[name]
                    ds[-1, :]  # the last row reads: the file is whole
        except (OSError, KeyError) as exc:
            raise CorruptFileError(
                f"{path.name} is not a readable {self.product} file ({exc}); delete it and run "
                "again to download it anew."
            ) from None

    def bands(self, path: Path, kinds=KINDS, scratch: Path | None = None) -> Iterator[Band]:
        """Radiance (NaN where fill or a rejected quality class) and observation count."""
        import h5py

        path = Path(path)
        window = self.tiles.window(self.tile_of(path.name))
        with h5py.File(path, "r") as h5:
            group = h5[GROUP]
            rad = group[self.variable]
            if rad.shape != (int(window.height), int(window.width)):
                raise UserError(
                    f"{path.name}: {rad.shape[0]} x {rad.shape[1]} pixels, not the "
                    f"{int(window.height)} x {int(window.width)} a {TILE_DEG:g} degree tile has at "
                    "blackmarble.pixel_arcsec; fix the config."
                )
            num = group[f"{self.variable}_Num"]
            qual = group[f"{self.variable}_Quality"]
            for kind in kinds:
                if kind == "radiance":
                    yield Band(kind, window, self._radiance_rows(rad, qual))
                elif kind == "coverage":
                    yield Band(kind, window, self._count_rows(num, qual))

    def _radiance_rows(self, rad, qual):
        fill = _attr(rad, "_FillValue", FILL.get(rad.dtype.name))
        scale = _attr(rad, "scale_factor", None)
        if scale is None:  # Collection 1 stored tenths of nW/cm2/sr as uint16
            scale = 0.1 if rad.dtype.kind == "u" else 1.0
        offset = _attr(rad, "add_offset", _attr(rad, "offset", 0.0))
        accepted = np.array(self.quality, dtype=np.int64)
        fill_value = np.asarray(fill, dtype=rad.dtype) if fill is not None else None

        def rows(wanted):
            wanted = np.asarray(wanted)
            for r0, r1 in _blocks(wanted, rad):
                raw = rad[r0:r1, :]
                q = qual[r0:r1, :].astype(np.int64)
                values = raw.astype(np.float32) * np.float32(scale) + np.float32(offset)
                bad = ~np.isin(q, accepted) | (q == QUALITY_FILL)
                if fill_value is not None:
                    bad |= raw == fill_value
                values[bad] = np.nan
                for r in wanted[(wanted >= r0) & (wanted < r1)]:
                    yield int(r), values[int(r) - r0]

        return rows

    def _count_rows(self, num, qual):
        """Observations per pixel (0 where fill); an accepted gap-filled pixel reports
        at least ``min_cloud_free`` (see the module doc)."""
        gap_accepted = GAP_FILLED in self.quality
        floor = np.float32(self.min_cloud_free)

        def rows(wanted):
            wanted = np.asarray(wanted)
            for r0, r1 in _blocks(wanted, num):
                block = num[r0:r1, :].astype(np.float32)
                block[block >= NUM_FILL] = 0.0
                if gap_accepted:
                    gap = qual[r0:r1, :] == GAP_FILLED
                    block[gap] = np.maximum(block[gap], floor)
                for r in wanted[(wanted >= r0) & (wanted < r1)]:
                    yield int(r), block[int(r) - r0]

        return rows


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
