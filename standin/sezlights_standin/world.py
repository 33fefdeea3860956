"""The synthetic scene both stand-in sources sample, so their numbers are comparable.

One world, seen through two grids: EOG's (pixel centres on multiples of the pixel
size) and Black Marble's (pixel edges on whole 10-degree tiles). Its parts:

- **cities** (:data:`CITIES`): bright
  Gaussian clusters at fixed places -- where the demo zones sit, on tile borders, and
  elsewhere -- whose light grows by 3 % of its 2012-04 value every month
  (:func:`growth`); a function of (month, lon, lat) only, so every grid sees the same
  light at the same place;
- **dim noise**: 75 % of the pixels exactly 0, the rest N(0.4, 0.5) rounded to 0.01, so
  some are small negative values, as in real EOG composites;
- **clouds**: the box :data:`CLOUDY` has no cloud-free observation in months with an
  odd month index (``year * 12 + month - 1``: 2019-02, 2019-04, ...);
- **scattered unobserved pixels**: about 3 % (:data:`UNOBSERVED_SHARE`) with no
  observation at all (cloud-free count 0) anywhere;
- **cloud-free counts** 1..24 elsewhere.

The random parts are drawn per fixed group of :data:`ROW_GROUP` tile rows, seeded by
(key, month, group), where ``key`` names the source and tile (``"eog/75N060W"``). A block
of rows is therefore the same whichever way a tile is cut into blocks, and the same for
every call: deterministic per (month, tile, block).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from .calendar import month_index

# (lon, lat, peak radiance in nW/cm2/sr, sigma in degrees): places the demo zones sit in, and others
CITIES = [
    (36.98, -1.43, 60.0, 0.20),  # Athi River, Kenya
    (32.55, 0.02, 45.0, 0.25),  # on the equator, Uganda
    (60.05, 25.35, 40.0, 0.30),  # on 60E, Chabahar
    (38.47, 7.05, 30.0, 0.15),  # Hawassa, Ethiopia
    (25.62, -33.80, 50.0, 0.20),  # Coega, South Africa
    (-92.40, 14.70, 35.0, 0.20),  # Puerto Chiapas, Mexico
    (106.70, 10.85, 80.0, 0.30),  # Ho Chi Minh City
    (-46.63, -23.55, 90.0, 0.40),  # Sao Paulo
    (-74.00, 40.70, 120.0, 0.40),  # New York
    (2.35, 48.85, 100.0, 0.30),  # Paris
]
CLOUDY = (25.2, -34.2, 26.0, -33.4)  # (west, south, east, north): no cloud-free obs in odd months
GROWTH_FROM = "2012-04"  # the first EOG monthly composite
GROWTH_PER_MONTH = 0.03
LIT_SHARE = 0.25  # share of pixels with dim noise (the rest is exactly 0)
UNOBSERVED_SHARE = 0.03
MAX_CLOUD_FREE = 24
ROW_GROUP = 50  # rows per random draw
REACH = 4.0  # a city's light is computed within REACH sigmas


def growth(month: str) -> float:
    """The cities' brightness in ``month`` relative to 2012-04 (+3 % of it per month)."""
    return 1.0 + GROWTH_PER_MONTH * (month_index(month) - month_index(GROWTH_FROM))


def cloudy_month(month: str) -> bool:
    return month_index(month) % 2 == 1


def centres(transform, cols: int, r0: int, r1: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre longitudes (cols,) and latitudes (r1 - r0,) of rows r0..r1."""
    lon = transform.c + (np.arange(cols) + 0.5) * transform.a
    lat = transform.f + (np.arange(r0, r1) + 0.5) * transform.e
    return lon, lat


def light(month: str, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """City light (float32, rows = ``lat``, cols = ``lon``) at pixel centres.

    Only the part within :data:`REACH` sigmas of each city is computed, so a full-size
    tile costs little.
    """
    out = np.zeros((lat.size, lon.size), dtype=np.float32)
    g = growth(month)
    for clon, clat, peak, sigma in CITIES:
        rows = np.nonzero(np.abs(lat - clat) < REACH * sigma)[0]
        cols = np.nonzero(np.abs(lon - clon) < REACH * sigma)[0]
        if rows.size == 0 or cols.size == 0:
            continue
        gx, gy = np.meshgrid(lon[cols], lat[rows])
        blob = peak * g * np.exp(-((gx - clon) ** 2 + (gy - clat) ** 2) / (2 * sigma**2))
        out[rows[:, None], cols[None, :]] += blob.astype(np.float32)
    return out


def cloudy(month: str, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Pixels (by centre) inside :data:`CLOUDY` in a cloudy month (bool, rows x cols)."""
    w, s, e, n = CLOUDY
    if not cloudy_month(month):
        return np.zeros((lat.size, lon.size), dtype=bool)
    return ((lat > s) & (lat < n))[:, None] & ((lon > w) & (lon < e))[None, :]


def near_city(lon: np.ndarray, lat: np.ndarray, degrees: float) -> np.ndarray:
    """Pixels within ``degrees`` (in both lon and lat) of a city centre (bool)."""
    out = np.zeros((lat.size, lon.size), dtype=bool)
    for clon, clat, *_ in CITIES:
        out |= (np.abs(lat - clat) < degrees)[:, None] & (np.abs(lon - clon) < degrees)[None, :]
    return out


@dataclass(frozen=True)
class Sample:
    """The world on rows r0..r1 of a tile grid (all arrays rows x cols, but lon/lat)."""

    lon: np.ndarray  # (cols,) pixel-centre longitudes
    lat: np.ndarray  # (rows,) pixel-centre latitudes
    light: np.ndarray  # float32: city light at the centres (nW/cm2/sr), unrounded
    noise: np.ndarray  # float32: dim noise, mostly exactly 0, some small negatives
    cloud_free: np.ndarray  # uint16: cloud-free observations, 0 where cloudy or unobserved
    cloudy: np.ndarray  # bool: inside the cloudy box in a cloudy month
    unobserved: np.ndarray  # bool: the scattered pixels with no observation at all
    uniform: np.ndarray | None  # float32 U[0, 1) for the source's own use (extra=True)
    normal: np.ndarray | None  # float32 N(0, 1) for the source's own noise (extra=True)


def _group(key: str, month: str, g: int, cols: int, extra: bool):
    rng = np.random.default_rng(zlib.crc32(f"{key}/{month}/{g}".encode()))
    shape = (ROW_GROUP, cols)
    u = rng.random(shape, dtype=np.float32)
    z = rng.standard_normal(shape, dtype=np.float32)
    c = rng.integers(1, MAX_CLOUD_FREE + 1, size=shape, dtype=np.uint16)
    if not extra:  # drawn last, so the arrays above do not depend on them
        return u, z, c, None, None
    return (
        u,
        z,
        c,
        rng.random(shape, dtype=np.float32),
        rng.standard_normal(shape, dtype=np.float32),
    )


def sample(
    month: str, transform, cols: int, r0: int, r1: int, key: str, extra: bool = False
) -> Sample:
    """The world on rows ``r0:r1`` of a grid with ``transform`` and ``cols`` columns.

    ``transform`` is the tile's (its row 0 is the tile's first row); ``key`` names the
    source and tile and seeds the random parts per :data:`ROW_GROUP` rows. ``extra``
    also draws :attr:`Sample.uniform` and :attr:`Sample.normal` for the caller's own use.
    """
    if r1 <= r0:
        raise ValueError(f"empty block: rows {r0}:{r1}")
    n = r1 - r0
    u = np.empty((n, cols), dtype=np.float32)
    z = np.empty((n, cols), dtype=np.float32)
    c = np.empty((n, cols), dtype=np.uint16)
    u2 = np.empty((n, cols), dtype=np.float32) if extra else None
    z2 = np.empty((n, cols), dtype=np.float32) if extra else None
    for g in range(r0 // ROW_GROUP, (r1 - 1) // ROW_GROUP + 1):
        first = g * ROW_GROUP
        a, b = max(r0, first) - first, min(r1, first + ROW_GROUP) - first
        rows = slice(first + a - r0, first + b - r0)
        for out, arr in zip((u, z, c, u2, z2), _group(key, month, g, cols, extra), strict=True):
            if out is not None:
                out[rows] = arr[a:b]
    lon, lat = centres(transform, cols, r0, r1)
    # in place, to keep full-size tiles cheap: noise = round(0.4 + 0.5 z, 2) where lit, else 0
    noise = z
    noise *= np.float32(0.5)
    noise += np.float32(0.4)
    np.round(noise, 2, out=noise)
    noise[u >= LIT_SHARE] = 0.0
    unobserved = u >= 1.0 - UNOBSERVED_SHARE
    cloud = cloudy(month, lon, lat)
    cloud_free = c
    cloud_free[unobserved | cloud] = 0
    return Sample(
        lon=lon,
        lat=lat,
        light=light(month, lon, lat),
        noise=noise,
        cloud_free=cloud_free,
        cloudy=cloud,
        unobserved=unobserved,
        uniform=u2,
        normal=z2,
    )
