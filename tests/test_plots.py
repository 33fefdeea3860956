"""The report's figures and the choice of zones it plots one by one."""

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from sezlights.errors import UserError
from sezlights.plots import choose_zones, overview_figure, timeseries_figures


def table(n_zones=5, months=("2019-01", "2019-02", "2019-03")):
    rows = []
    for z in range(n_zones):
        for i, m in enumerate(months):
            s = float(z * 10 + i) if z != 2 else np.nan  # zone 2: outside the coverage
            rows.append(
                {
                    "zone_id": f"z{z}",
                    "month": m,
                    "sum": s,
                    "mean": s / 4,
                    "cf_cvg_mean": 0.5 if (z, i) == (1, 1) else 6.0,
                    "quality": "ok" if z != 2 else "outside_coverage",
                }
            )
    return pd.DataFrame(rows)


def test_all_zones_are_shown_up_to_the_cap():
    shown = choose_zones(table(5), None, 5)
    assert list(shown.zone_id) == ["z0", "z1", "z2", "z3", "z4"]
    assert set(shown.why) == {"all 5 zones"}


def test_beyond_the_cap_the_brightest_are_shown():
    shown = choose_zones(table(5), None, 2)
    assert list(shown.zone_id) == ["z4", "z3"]
    assert list(shown["rank"]) == [1, 2]
    assert shown.sum_of_lights_all_months.tolist() == [123.0, 93.0]
    assert shown.why.iloc[0] == "2 brightest of 5 zones"


def test_listed_zones_are_shown_in_their_order():
    shown = choose_zones(table(5), ["z2", "z0", "z2"], 1)
    assert list(shown.zone_id) == ["z2", "z0"]


def test_an_unknown_listed_zone_is_one_clear_error():
    with pytest.raises(
        UserError, match=r"report.zones names 2 zone id\(s\) not in the zones file: nope, z9"
    ):
        choose_zones(table(5), ["z1", "z9", "nope"])


def test_overview_and_timeseries_figures_are_drawn(tmp_path):
    t = table(30, tuple(f"2019-{m:02d}" for m in range(1, 13)))
    png = overview_figure(t, tmp_path / "overview.png")
    img = mpimg.imread(png)
    assert img.shape[0] > 400 and img[..., :3].std() > 0.05
    written = timeseries_figures(t, tmp_path / "ts", ["z3", "z7"])
    assert sorted(p.name for p in written) == ["z3.png", "z7.png"]
    assert sorted(p.name for p in (tmp_path / "ts").iterdir()) == ["z3.png", "z7.png"]
