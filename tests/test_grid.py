import pytest

from sezlights import grid


def test_real_tile_shapes_and_origin():
    p = grid.REAL_PIXEL_DEG
    assert grid.tile_shape("75N180W", p) == (18000, 28800)
    assert grid.tile_shape("00N060E", p) == (15600, 28800)
    t = grid.tile_transform("75N180W", p)
    # EOG tiles start half a pixel north-west of the nominal corner
    assert t.c == pytest.approx(-180.00208333333)
    assert t.f == pytest.approx(75.00208333333)
    s = grid.tile_transform("00N060W", p)
    assert s.c == pytest.approx(-60.00208333333)
    assert s.f == pytest.approx(0.00208333333)


def test_tiles_share_one_lattice():
    p = 1 / 6
    x0, y0 = grid.global_origin(p)
    for tid in grid.TILE_IDS:
        t = grid.tile_transform(tid, p)
        assert ((t.c - x0) / p) == pytest.approx(round((t.c - x0) / p))
        assert ((y0 - t.f) / p) == pytest.approx(round((y0 - t.f) / p))


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
def test_tiles_for_bounds(bounds, expected):
    assert grid.tiles_for_bounds(bounds, grid.REAL_PIXEL_DEG) == expected


def test_pixel_across_the_border_pulls_both_tiles():
    # 59.999E lies in the pixel centred on 60E, which belongs to 75N060E only
    # (tiles are shifted half a pixel west); the one-pixel margin also keeps 75N060W.
    p = grid.REAL_PIXEL_DEG
    assert grid.tiles_for_bounds((59.999, 10.0, 59.9995, 10.001), p) == ["75N060W", "75N060E"]


def test_window_clipped_to_coverage():
    p = 1 / 6
    r0, c0, h, w = grid.window_for_bounds((-10, 70, 10, 80), p)
    assert r0 == 0 and h > 0
    # wholly north of the coverage: the top strip of one row, not an error
    assert grid.window_for_bounds((0, 76, 1, 80), p, pad=0)[::2] == (0, 1)
