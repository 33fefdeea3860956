import pytest

from sezlights.errors import ConfigError
from sezlights.months import month_bounds, month_range, parse_month


@pytest.mark.parametrize("value", ["2019-01", "201901", 201901, " 2019-01 "])
def test_parse_month_forms(value):
    assert parse_month(value) == "2019-01"


@pytest.mark.parametrize(
    "value", ["2019-1", "19-01", "2019/01", "2019-13", "2019-00", "", "latest", "2019-01-01"]
)
def test_parse_month_rejects(value):
    with pytest.raises(ConfigError, match="month"):
        parse_month(value)


def test_month_range_inclusive_across_years():
    assert month_range("2019-11", "202002") == ["2019-11", "2019-12", "2020-01", "2020-02"]
    assert month_range("2019-05", "2019-05") == ["2019-05"]


def test_month_range_errors():
    with pytest.raises(ConfigError, match="after end"):
        month_range("2019-05", "2019-04")
    with pytest.raises(ConfigError, match="before 2012-01"):
        month_range("2011-12", "2012-06")


@pytest.mark.parametrize(
    "sources, start, first",
    [("eog", "2012-03", "2012-04"), ("blackmarble", "2011-12", "2012-01")],
)
def test_each_source_checks_its_first_month(sources, start, first):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from helpers import make_config

    from sezlights import config

    cfg = make_config(
        sources=[sources],
        months={"start": start, "end": "2012-06"},
        blackmarble={"products": ["VNP46A3"]},
    )
    with pytest.raises(ConfigError, match=f"before {first}"):
        config.months(cfg)


def _bm_months(products, start, end):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from helpers import make_config

    from sezlights import config

    cfg = make_config(
        sources=["blackmarble"],
        months={"start": start, "end": end},
        blackmarble={"products": products},
    )
    return config.months(cfg)


def test_suomi_npp_after_its_last_month_is_an_error_that_names_noaa20():
    with pytest.raises(ConfigError, match=r"after 2026-10.*add VJ146A3 \(NOAA-20"):
        _bm_months(["VNP46A3"], "2026-06", "2026-12")
    with pytest.raises(
        ConfigError, match="before 2018-01, the first month of Black Marble VJ146A3"
    ):
        _bm_months(["VJ146A3"], "2017-06", "2018-03")
    # both products: each read over the months it exists, so the whole range is covered
    assert len(_bm_months(["VNP46A3", "VJ146A3"], "2017-06", "2026-12")) == 115


def test_month_bounds_leap_year():
    assert month_bounds("2020-02") == ("20200201", "20200229")
    assert month_bounds("2019-02") == ("20190201", "20190228")
