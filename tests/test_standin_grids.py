"""The readers' grids against the stand-ins' files, which are placed from the facts of
docs/evidence/ written out literally (sezlights_standin.grids), never from the readers'
own TileSet: a wrong tile corner in a reader fails here."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import rasterio
from affine import Affine
from sezlights_standin import blackmarble_tiles, eog_tiles, grids

from sezlights.sources import blackmarble, eog

P15 = 1 / 240  # 15 arc-seconds: the real files' pixel


@pytest.mark.parametrize("tile", eog_tiles.TILE_IDS)
def test_eog_tiles_at_15_arcseconds_are_where_the_evidence_puts_them(tile):
    """Real tiles' geotransforms (docs/evidence/eog.md, "Grid"): 75N060W starts at
    (-60.00208333335, 75.00208333335), 75N060E at (59.99791666665, ...), 0.0041666667."""
    transform, rows, cols = grids.eog_tile(tile, P15)
    ts = eog.tileset(P15)
    assert ts.shape(tile) == (rows, cols)
    assert ts.transform(tile).almost_equals(transform, precision=1e-9)
    if tile == "75N060W":
        assert (transform.c, transform.f) == pytest.approx((-60.00208333335, 75.00208333335))
    if tile == "75N060E":
        assert transform.c == pytest.approx(59.99791666665)


def test_eog_files_written_by_the_stand_in_land_on_the_readers_windows(tmp_path):
    pixel = 600 / 3600
    ts = eog.tileset(pixel)
    for tile in eog_tiles.TILE_IDS:
        name = eog_tiles.archive_name("2019-01", tile, "vcmcfg", "201902051200")
        path = eog_tiles.write_archive(tmp_path / name, "2019-01", tile, pixel, plain=True)
        layers = eog_tiles.read_archive(path)
        with rasterio.open(f"/vsitar/{path}/{name[:-4]}.cf_cvg.tif") as ds:
            window = ts.lattice.offset_of(ds.transform, (ds.height, ds.width), name)
        assert window == ts.window(tile), tile
        assert layers["cf_cvg"].shape == ts.shape(tile)


def test_eog_global_files_share_the_tiles_lattice():
    """The global files (docs/evidence/eog-notile.md, lighteverynight.md): the same corner
    rule at (-180, 75); 86401 x 33601 at 15", one column and row beyond the tiles'."""
    transform, rows, cols = grids.eog_global(P15)
    lat = eog.tileset(P15).lattice
    assert (rows, cols) == (33601, 86401)
    assert transform.almost_equals(lat.transform, precision=1e-9)
    assert (lat.rows, lat.cols) == (33600, 86400)


@pytest.mark.parametrize("tile", ["h00v00", "h08v07", "h21v09", "h35v17"])
def test_blackmarble_tiles_are_where_the_evidence_puts_them(tile):
    """§5: h08v07 is -100..-90 E, 20..10 N (StructMetadata), 2400 x 2400 at 15"."""
    transform, rows, cols = grids.bm_tile(tile, P15)
    ts = blackmarble.tileset(P15)
    assert ts.shape(tile) == (rows, cols) == (2400, 2400)
    assert ts.transform(tile).almost_equals(transform, precision=1e-9)
    if tile == "h08v07":
        assert (transform.c, transform.f) == (-100.0, 20.0)


@pytest.mark.parametrize("product", ["VNP46A3", "VJ146A3"])
def test_blackmarble_files_carry_the_readers_tile_in_their_own_metadata(tmp_path, product):
    pixel = 600 / 3600
    ts = blackmarble.tileset(pixel)
    for tile in ("h08v07", "h21v09"):
        path = blackmarble_tiles.write_file(
            tmp_path / blackmarble_tiles.file_name("2019-01", tile, product=product),
            "2019-01", tile, pixel, product=product,
        )  # fmt: skip
        with h5py.File(path, "r") as f:
            west, north = f.attrs["WestBoundingCoord"], f.attrs["NorthBoundingCoord"]
            meta = f["HDFEOS INFORMATION/StructMetadata.0"][()].decode()
            shape = f[blackmarble.GROUP]["NearNadir_Composite_Snow_Free"].shape
        found = Affine(pixel, 0, west, 0, -pixel, north)
        window = ts.lattice.offset_of(found, shape, path.name)
        assert window == ts.window(tile)
        ul = f"UpperLeftPointMtrs=({west * 1e6:.6f},{north * 1e6:.6f})"
        assert ul in meta
        blackmarble.BlackMarble({"products": [product], "pixel_arcsec": 600}).verify(path)
        assert np.isfinite(west) and np.isfinite(north)
