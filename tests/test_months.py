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

    cfg = make_config(source={"name": sources}, months={"start": start, "end": "2012-06"})
    with pytest.raises(ConfigError, match=f"before {first}"):
        config.months(cfg)


def test_month_bounds_leap_year():
    assert month_bounds("2020-02") == ("20200201", "20200229")
    assert month_bounds("2019-02") == ("20190201", "20190228")
