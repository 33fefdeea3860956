"""Where each synthetic file lies on the globe, written out from the evidence.

Nothing here comes from the pipeline's own grid code (``sezlights.grid``,
``sezlights.sources``): the stand-ins place their files from the facts below, as the
real services do, so a reader that got a tile corner wrong would disagree with them and
the tests (``tests/test_standin_grids.py``) would say so. Each fact quotes its evidence.

EOG monthly tiles (docs/evidence/eog.md, "Grid"): six tiles named by the nominal corner
of their north-west pixel edge, 120 degrees wide, 75N..0 and 0..65S. GDAL reports a
real tile's geotransform as ``(-60.00208333335, 0.0041666667, 0.0, 75.00208333335, 0.0,
-0.0041666667)`` for 75N060W and ``(59.99791666665, ...)`` for 75N060E: the corner is
half a pixel west and north of the nominal corner (pixel *centres* fall on whole
multiples of the pixel size). At a reduced pixel size the same rule holds.

EOG's and Light Every Night's global files (docs/evidence/eog-notile.md,
docs/evidence/lighteverynight.md): the same corner rule at (-180, 75): origin
``-180.00208333335, 75.00208333335`` at 15"; EOG's annual global files are 86401 x 33601
pixels (one column and one row more than 360 x 140 degrees), the monthly ones' size is
not confirmed.

Black Marble tiles (docs/evidence/blackmarble.md §5): ``h{HH}v{VV}`` spans lon -180 +
10*HH .. +10, lat 90 - 10*VV .. -10, pixel edges on the tile corners (StructMetadata:
h08v07 is -100..-90 E, 20..10 N), 2400 x 2400 pixels at 15".
"""

from __future__ import annotations

from affine import Affine

# --------------------------------------------------------------------- EOG tiles

EOG_TILES = {  # name: (nominal west, nominal north, width deg, height deg)
    "75N180W": (-180.0, 75.0, 120.0, 75.0),
    "75N060W": (-60.0, 75.0, 120.0, 75.0),
    "75N060E": (60.0, 75.0, 120.0, 75.0),
    "00N180W": (-180.0, 0.0, 120.0, 65.0),
    "00N060W": (-60.0, 0.0, 120.0, 65.0),
    "00N060E": (60.0, 0.0, 120.0, 65.0),
}


def eog_tile(tile: str, pixel: float) -> tuple[Affine, int, int]:
    """(geotransform, rows, cols) of an EOG tile at ``pixel`` degrees: the corner half a
    pixel west and north of the nominal one."""
    west, north, width, height = EOG_TILES[tile]
    transform = Affine(pixel, 0.0, west - pixel / 2, 0.0, -pixel, north + pixel / 2)
    return transform, round(height / pixel), round(width / pixel)


def eog_global(pixel: float, extra: int = 1) -> tuple[Affine, int, int]:
    """(geotransform, rows, cols) of a global EOG-style file: the tiles' corner rule at
    (-180, 75), 360 x 140 degrees plus ``extra`` column and row (86401 x 33601 at 15",
    as EOG's annual global files; ``extra=0`` for 86400 x 33600)."""
    transform = Affine(pixel, 0.0, -180.0 - pixel / 2, 0.0, -pixel, 75.0 + pixel / 2)
    return transform, round(140.0 / pixel) + extra, round(360.0 / pixel) + extra


# ------------------------------------------------------------ Black Marble tiles

BM_TILE_DEGREES = 10.0


def bm_tile_name(h: int, v: int) -> str:
    return f"h{h:02d}v{v:02d}"


def bm_tile(tile: str, pixel: float) -> tuple[Affine, int, int]:
    """(geotransform, rows, cols) of a Black Marble tile: edges on whole 10 degrees."""
    h, v = int(tile[1:3]), int(tile[4:6])
    west, north = -180.0 + BM_TILE_DEGREES * h, 90.0 - BM_TILE_DEGREES * v
    n = round(BM_TILE_DEGREES / pixel)
    return Affine(pixel, 0.0, west, 0.0, -pixel, north), n, n


def bm_tile_of(lon: float, lat: float) -> str:
    """The Black Marble tile holding a point."""
    return bm_tile_name(int((lon + 180.0) // BM_TILE_DEGREES), int((90.0 - lat) // BM_TILE_DEGREES))
