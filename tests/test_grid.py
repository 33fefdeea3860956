"""The lattice maths (sezlights.grid) and each source's grid facts."""

import numpy as np
import pytest
from affine import Affine

from sezlights.errors import UserError
from sezlights.sources import blackmarble, eog

P = 1 / 240  # 15 arc-seconds


def test_eog_tiles_start_half_a_pixel_off_their_nominal_corner():
    ts = eog.tileset(P)
    assert ts.shape("75N180W") == (18000, 28800) and ts.shape("00N060E") == (15600, 28800)
    t = ts.transform("75N180W")
    assert t.c == pytest.approx(-180.00208333333) and t.f == pytest.approx(75.00208333333)
    s = ts.transform("00N060W")
    assert s.c == pytest.approx(-60.00208333333) and s.f == pytest.approx(0.00208333333)


def test_blackmarble_tiles_have_edges_on_whole_degrees():
    ts = blackmarble.tileset(P)
    assert len(ts.ids) == 36 * 18 and ts.shape("h08v07") == (2400, 2400)
    t = ts.transform("h08v07")  # StructMetadata: UpperLeftPointMtrs=(-100000000.0,20000000.0)
    assert (t.c, t.f) == pytest.approx((-100.0, 20.0))


@pytest.mark.parametrize(
    "bounds, expected",
    [
        ((36.9, -1.5, 37.0, -1.4), ["00N060W"]),
        ((32.4, -0.1, 32.7, 0.1), ["75N060W", "00N060W"]),  # on the equator
        ((59.8, 25.2, 60.3, 25.4), ["75N060W", "75N060E"]),  # on 60E
        ((-60.1, 10.0, -59.9, 10.2), ["75N180W", "75N060W"]),  # on 60W
        ((-92.4, 14.7, -92.3, 14.8), ["75N180W"]),
    ],
)
def test_tiles_near_a_box(bounds, expected):
    ts = eog.tileset(P)
    assert ts.tiles_for_window(ts.lattice.window_for_bounds(bounds, pad=1)) == expected


def test_tile_numbers_are_vectorised():
    ts = blackmarble.tileset(P)
    rows, cols = np.array([0, 7 * 2400 + 5]), np.array([0, 8 * 2400 + 1])
    assert [ts.ids[k] for k in ts.tile_numbers(rows, cols)] == ["h00v00", "h08v07"]


def test_window_clipped_to_the_lattice_even_when_outside():
    lat = eog.lattice(1 / 6)
    w = lat.window_for_bounds((-10, 70, 10, 80))
    assert w.row_off == 0 and w.height > 0
    # wholly north of the coverage: the top strip of one row, not an error
    w = lat.window_for_bounds((0, 76, 1, 80))
    assert (w.row_off, w.height) == (0, 1)


def test_one_tolerance_decides_what_is_on_the_lattice():
    lat = eog.lattice(1 / 6)
    ts = eog.tileset(1 / 6)
    t, shape = ts.transform("00N060W"), ts.shape("00N060W")
    assert lat.offset_of(t, shape, "x") == ts.window("00N060W")
    nudged = Affine(t.a, 0, t.c + 0.0005 / 6, 0, t.e, t.f)  # 0.0005 pixel off: fine
    assert lat.offset_of(nudged, shape, "x") == ts.window("00N060W")
    with pytest.raises(UserError, match="not on the configured"):
        lat.offset_of(Affine(t.a, 0, t.c + 0.01 / 6, 0, t.e, t.f), shape, "x")  # 0.01 pixel
    with pytest.raises(UserError, match="not on the configured"):
        lat.offset_of(Affine(t.a * 1.001, 0, t.c, 0, t.e, t.f), shape, "x")  # pixel size
