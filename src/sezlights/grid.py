"""Lattice maths: a global grid of square lat/lon pixels, and the tiles cut from it.

Every source's tiles lie on one global lattice of its own (EOG: pixel centres on
multiples of the pixel size, so tile corners sit half a pixel off the nominal
corner; Black Marble: pixel edges on the tile corners). A :class:`Lattice` holds
that grid; :class:`TileSet` names the tiles as windows on it. Everything here is
built on ``rasterio.windows`` and ``affine``, and takes the pixel size as given, so
reduced-resolution synthetic tiles use the same code as the real 15" ones.

One tolerance, :data:`TOLERANCE` (a fraction of a pixel), decides whether a file's
georeferencing is on the lattice: both of its corners must land within it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from affine import Affine

from .errors import UserError

if TYPE_CHECKING:
    from rasterio.windows import Window

TOLERANCE = 1e-3  # of a pixel: how far a file's corner may be from a lattice point


@dataclass(frozen=True)
class Lattice:
    """A global grid: ``rows`` x ``cols`` pixels of ``pixel`` degrees from (west, north)."""

    pixel: float
    west: float
    north: float
    rows: int
    cols: int

    @property
    def transform(self) -> Affine:
        return Affine(self.pixel, 0.0, self.west, 0.0, -self.pixel, self.north)

    @property
    def south(self) -> float:
        return self.north - self.rows * self.pixel

    @property
    def east(self) -> float:
        return self.west + self.cols * self.pixel

    def window_transform(self, window: Window) -> Affine:
        from rasterio.windows import transform

        return transform(window, self.transform)

    def window_bounds(self, window: Window) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) of a window, unclipped."""
        t = self.window_transform(window)
        return t.c, t.f - window.height * self.pixel, t.c + window.width * self.pixel, t.f

    def window_for_bounds(self, bounds, pad: int = 0, clip: bool = True) -> Window:
        """The smallest window (plus ``pad`` pixels) holding the box ``bounds``.

        Clipped to the lattice; a box wholly outside it gets the nearest one-pixel
        strip inside, so its zones still get an (empty) row rather than an error.
        """
        minx, miny, maxx, maxy = bounds
        c0 = math.floor((minx - self.west) / self.pixel + TOLERANCE) - pad
        c1 = math.ceil((maxx - self.west) / self.pixel - TOLERANCE) + pad
        r0 = math.floor((self.north - maxy) / self.pixel + TOLERANCE) - pad
        r1 = math.ceil((self.north - miny) / self.pixel - TOLERANCE) + pad
        c1, r1 = max(c1, c0 + 1), max(r1, r0 + 1)
        if clip:
            c0 = min(self.cols - 1, max(0, c0))
            c1 = max(c0 + 1, min(self.cols, c1))
            r0 = min(self.rows - 1, max(0, r0))
            r1 = max(r0 + 1, min(self.rows, r1))
        return make_window(c0, r0, c1 - c0, r1 - r0)

    def offset_of(self, transform: Affine, shape: tuple[int, int], name: str) -> Window:
        """The window a file with ``transform`` and ``shape`` (rows, cols) covers.

        Both corners must land within :data:`TOLERANCE` pixels of lattice points,
        else the file is not on this grid (wrong ``pixel_arcsec``, or not a tile of
        this source) and a :class:`UserError` says so.
        """
        rows, cols = shape
        far = transform * (cols, rows)
        col0 = (transform.c - self.west) / self.pixel
        row0 = (self.north - transform.f) / self.pixel
        col1 = (far[0] - self.west) / self.pixel
        row1 = (self.north - far[1]) / self.pixel
        corners = (col0, row0, col1, row1)
        if any(abs(v - round(v)) > TOLERANCE for v in corners) or (
            round(col1) - round(col0),
            round(row1) - round(row0),
        ) != (cols, rows):
            raise UserError(
                f"{name}: its grid (corner {transform.c:.6f}, {transform.f:.6f}, pixel "
                f'{transform.a:.10g} deg) is not on the configured {self.pixel * 3600:g}" '
                "lattice of this source; check pixel_arcsec in the config."
            )
        return make_window(round(col0), round(row0), cols, rows)

    def placement(self, transform: Affine, shape: tuple[int, int], name: str) -> Window:
        """Where a file lies on the lattice: the window its pixels cover, which may reach
        beyond the lattice (a global file one column and row larger than 360 x 140
        degrees, as EOG's global files are); its corner must be on a lattice point and
        it must cover the whole lattice or lie inside it."""
        rows, cols = shape
        col0 = (transform.c - self.west) / self.pixel
        row0 = (self.north - transform.f) / self.pixel
        if (
            abs(col0 - round(col0)) > TOLERANCE
            or abs(row0 - round(row0)) > TOLERANCE
            or not math.isclose(transform.a, self.pixel, rel_tol=1e-6)
            or not math.isclose(-transform.e, self.pixel, rel_tol=1e-6)
        ):
            raise UserError(
                f"{name}: its grid (corner {transform.c:.6f}, {transform.f:.6f}, pixel "
                f'{transform.a:.10g} deg) is not on the configured {self.pixel * 3600:g}" '
                "lattice of this source; check pixel_arcsec in the config."
            )
        return make_window(round(col0), round(row0), cols, rows)

    def clip(self, window: Window) -> Window:
        """The part of ``window`` on the lattice."""
        c0, r0 = max(0, int(window.col_off)), max(0, int(window.row_off))
        c1 = min(self.cols, int(window.col_off + window.width))
        r1 = min(self.rows, int(window.row_off + window.height))
        return make_window(c0, r0, max(0, c1 - c0), max(0, r1 - r0))


@dataclass(frozen=True)
class TileSet:
    """A source's tiles: a regular partition of its lattice into rows and columns of tiles.

    ``row_edges`` and ``col_edges`` are lattice pixel indices (first 0, last the
    lattice's rows/cols); ``names[i][j]`` is the id of the tile in tile-row ``i``
    and tile-column ``j``.
    """

    lattice: Lattice
    row_edges: tuple[int, ...]
    col_edges: tuple[int, ...]
    names: tuple[tuple[str, ...], ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(n for row in self.names for n in row)

    def window(self, tile: str) -> Window:
        i, j = self._position(tile)
        r0, r1 = self.row_edges[i], self.row_edges[i + 1]
        c0, c1 = self.col_edges[j], self.col_edges[j + 1]
        return make_window(c0, r0, c1 - c0, r1 - r0)

    def transform(self, tile: str) -> Affine:
        return self.lattice.window_transform(self.window(tile))

    def shape(self, tile: str) -> tuple[int, int]:
        w = self.window(tile)
        return int(w.height), int(w.width)

    def tile_numbers(self, rows, cols):
        """Vectorised: the tile number (index into :attr:`ids`) of lattice pixels."""
        import numpy as np

        i = np.searchsorted(self.row_edges, rows, side="right") - 1
        j = np.searchsorted(self.col_edges, cols, side="right") - 1
        return i * (len(self.col_edges) - 1) + j

    def tiles_for_window(self, window: Window) -> list[str]:
        """Tiles that share at least one pixel with ``window``, in :attr:`ids` order."""
        r0, c0 = window.row_off, window.col_off
        r1, c1 = r0 + window.height, c0 + window.width
        out = []
        for i in range(len(self.row_edges) - 1):
            for j in range(len(self.col_edges) - 1):
                if (
                    r0 < self.row_edges[i + 1]
                    and self.row_edges[i] < r1
                    and c0 < self.col_edges[j + 1]
                    and self.col_edges[j] < c1
                ):
                    out.append(self.names[i][j])
        return out

    def _position(self, tile: str) -> tuple[int, int]:
        for i, row in enumerate(self.names):
            if tile in row:
                return i, row.index(tile)
        raise KeyError(f"{tile} is not a tile of this grid")


def make_window(col_off: int, row_off: int, width: int, height: int) -> Window:
    """rasterio's Window, imported when first needed: a job that only lists or downloads
    files never loads GDAL (rasterio and the boto3 it imports: about 0.45 s a job)."""
    from rasterio.windows import Window

    return Window(col_off, row_off, width, height)
