"""The EOG VIIRS monthly grid: six tiles on one global 15 arc-second lattice.

Pixel centres lie on exact multiples of the pixel size, so every tile's upper-left
corner sits half a pixel north-west of its nominal corner (e.g. 75N180W starts at
-180 - p/2, 75 + p/2). All six tiles share that lattice, which is what lets the
mosaic place them by integer pixel offsets, with no resampling.

Nothing here assumes the real 15" resolution: every function takes the pixel size,
so the reduced-resolution synthetic tiles of the tests and demo use the same code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

REAL_PIXEL_DEG = 1.0 / 240.0  # 15 arc-seconds
NORTH, SOUTH = 75.0, -65.0  # latitude coverage of the composites
WEST = -180.0


@dataclass(frozen=True)
class Tile:
    id: str
    west: float
    south: float
    east: float
    north: float

    def bounds(self) -> tuple[float, float, float, float]:
        return (self.west, self.south, self.east, self.north)


TILES: dict[str, Tile] = {
    t.id: t
    for t in (
        Tile("75N180W", -180.0, 0.0, -60.0, 75.0),
        Tile("75N060W", -60.0, 0.0, 60.0, 75.0),
        Tile("75N060E", 60.0, 0.0, 180.0, 75.0),
        Tile("00N180W", -180.0, -65.0, -60.0, 0.0),
        Tile("00N060W", -60.0, -65.0, 60.0, 0.0),
        Tile("00N060E", 60.0, -65.0, 180.0, 0.0),
    )
}
TILE_IDS = tuple(TILES)


def tile_shape(tile_id: str, pixel: float) -> tuple[int, int]:
    """(rows, cols) of a tile at pixel size ``pixel`` (18000 x 28800 north at 15")."""
    t = TILES[tile_id]
    return round((t.north - t.south) / pixel), round((t.east - t.west) / pixel)


def tile_transform(tile_id: str, pixel: float):
    """Affine transform of a tile, with the real half-pixel offset."""
    from affine import Affine

    t = TILES[tile_id]
    return Affine(pixel, 0.0, t.west - pixel / 2, 0.0, -pixel, t.north + pixel / 2)


def global_origin(pixel: float) -> tuple[float, float]:
    """Upper-left corner of the global lattice (x0, y0)."""
    return WEST - pixel / 2, NORTH + pixel / 2


def global_shape(pixel: float) -> tuple[int, int]:
    return round((NORTH - SOUTH) / pixel), round(360.0 / pixel)


def tiles_for_bounds(bounds, pixel: float) -> list[str]:
    """Tiles whose actual extent (half-pixel shifted) a box intersects.

    The box is widened by one pixel so a zone that touches a pixel lying across a
    tile border pulls in both tiles; an extra tile costs a download, a missing
    one would give a wrong answer.
    """
    minx, miny, maxx, maxy = bounds
    out = []
    for t in TILES.values():
        w, n = t.west - pixel / 2, t.north + pixel / 2
        e, s = t.east - pixel / 2, t.south + pixel / 2
        if minx - pixel <= e and maxx + pixel >= w and miny - pixel <= n and maxy + pixel >= s:
            out.append(t.id)
    return out


def window_for_bounds(bounds, pixel: float, pad: int = 1):
    """Global-lattice pixel window (row_off, col_off, height, width) covering a box.

    Padded by ``pad`` pixels and clipped to the coverage of the composites. A box
    wholly outside the coverage gets the nearest one-pixel-wide strip inside it,
    so its zones still get a (NaN, ``outside_coverage``) row rather than an error.
    """
    x0, y0 = global_origin(pixel)
    rows, cols = global_shape(pixel)
    minx, miny, maxx, maxy = bounds
    c0 = min(cols - 1, max(0, math.floor((minx - x0) / pixel) - pad))
    c1 = max(c0 + 1, min(cols, math.ceil((maxx - x0) / pixel) + pad))
    r0 = min(rows - 1, max(0, math.floor((y0 - maxy) / pixel) - pad))
    r1 = max(r0 + 1, min(rows, math.ceil((y0 - miny) / pixel) + pad))
    return r0, c0, r1 - r0, c1 - c0
