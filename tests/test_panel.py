"""The table an economist loads: kept attributes, start dates and months since start,
the Parquet file, the wide CSV and results/README.txt."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from shapely.geometry import box

from sezlights import attributes, describe, panel, table
from sezlights.errors import ConfigError, ZonesError


def zones_file(tmp_path, starts, **extra):
    path = tmp_path / "zones.geojson"
    n = len(starts)
    gpd.GeoDataFrame(
        {"id": [f"z{i}" for i in range(n)], "opened": starts, **extra},
        geometry=[box(i, 0, i + 0.1, 0.1) for i in range(n)],
        crs="EPSG:4326",
    ).to_file(path)
    return path


@pytest.mark.parametrize(
    "value, month",
    [
        (2005, "2005-01"),
        (2005.0, "2005-01"),
        ("2005", "2005-01"),
        ("2005-06", "2005-06"),
        ("2005/6", "2005-06"),
        ("2005-06-15", "2005-06"),
        ("2005-06-15T00:00:00Z", "2005-06"),
        (dt.date(2005, 6, 15), "2005-06"),
        (pd.Timestamp("2005-06-15"), "2005-06"),
        (None, None),
        (np.nan, None),
        ("", None),
        ("  ", None),
    ],
)
def test_start_dates_in_the_forms_zones_files_have(value, month):
    assert attributes.start_month(value) == month


@pytest.mark.parametrize("value", ["15/06/2005", "2005-13", "2005-02-30", "soon", 12, "20050615"])
def test_what_is_not_a_date_is_refused(value):
    with pytest.raises(ValueError):
        attributes.start_month(value)


def test_bad_dates_are_listed_in_one_message_never_dropped(tmp_path):
    path = zones_file(tmp_path, ["2001", "15/06/2005", "", "2005-13", "soon", "2010-05-01"])
    with pytest.raises(ZonesError) as e:
        attributes.read(path, "id", start_field="opened")
    text = str(e.value)
    assert "3 zone(s)" in text
    assert "z1 ('15/06/2005'), z3 ('2005-13'), z4 ('soon')" in text
    assert "zones.start_field" in text and "YYYY-MM" in text
    assert "z2" not in text  # empty: no start, not an error


def test_kept_fields_keep_their_types_and_rings_take_their_zones(tmp_path):
    path = zones_file(
        tmp_path,
        ["2019-02", "", "2018"],
        country=["Kenya", "Uganda", "Kenya"],
        code=["007", "010", "NA"],
        hectares=[120.5, 80.0, 3.0],
    )
    attrs = attributes.read(
        path, "id", keep_fields=["country", "code", "hectares"], start_field="opened"
    )
    assert list(attrs.columns) == ["zone_id", "country", "code", "hectares", "start_month"]
    assert list(attrs.code) == ["007", "010", "NA"]  # text stays text
    assert attrs.hectares.dtype.kind == "f"
    assert list(attrs.start_month) == ["2019-02", None, "2018-01"]
    assert "z1" in attributes.no_start_note(attrs, "opened")
    attributes.write(attrs, tmp_path / "attributes.parquet")
    attrs = attributes.load(tmp_path / "attributes.parquet")
    assert list(attrs.code) == ["007", "010", "NA"]

    stats = stats_rows(
        [("z0", "zone", "z0"), ("z0__ring_0_5km", "ring", "z0"), ("z1", "zone", "z1")],
        ["2019-01", "2019-02", "2019-04"],
    )
    out = attributes.join(stats, attrs)
    ring = out[out.zone_id == "z0__ring_0_5km"].set_index("month")
    assert list(ring.country) == ["Kenya"] * 3 and list(ring.start_month) == ["2019-02"] * 3
    assert list(ring.months_since_start) == [-1, 0, 2]
    none = out[out.zone_id == "z1"]
    assert (none.start_month == "").all() and none.months_since_start.isna().all()


def test_a_kept_field_may_not_take_a_column_of_the_table():
    with pytest.raises(ConfigError, match="'mean'"):
        attributes.check_fields(["country", "mean"], None)


def stats_rows(areas, months, sources=("eog",)):
    rows = []
    for zid, kind, parent in areas:
        for i, month in enumerate(months):
            for source in sources:
                ring = kind == "ring"
                rows.append(
                    {
                        "zone_id": zid, "month": month, "source": source, "satellite": "npp",
                        "product": "vcmcfg", "zone_kind": kind, "parent_id": parent,
                        "ring_inner_km": 0.0 if ring else np.nan,
                        "ring_outer_km": 5.0 if ring else np.nan, "shape": "polygon",
                        "area_km2": 12.5, "pixels": 60.0, "pixels_observed": 60.0,
                        "observed_share": 1.0, "sum": 600.0 + i, "mean": 10.0 + i,
                        "median": 10.0, "min": 1.0, "max": 20.0, "std": 2.0,
                        "cf_cvg_mean": 6.0, "cf_cvg_min": 3.0, "quality": "ok",
                    }
                )  # fmt: skip
    return pd.DataFrame(rows, columns=table.STATS_COLUMNS)


def combined(tmp_path):
    path = zones_file(tmp_path, ["2019-02", "2001"], country=["Kenya", "Uganda"])
    attrs = attributes.read(path, "id", keep_fields=["country"], start_field="opened")
    stats = stats_rows(
        [("z0", "zone", "z0"), ("z0__ring_0_5km", "ring", "z0"), ("z1", "zone", "z1")],
        ["2019-01", "2019-02", "2019-03"],
        sources=("eog", "blackmarble"),
    )
    return table.sort(attributes.join(stats, attrs)[table.columns(["country"])])


def test_the_parquet_file_loads_typed_in_one_line(tmp_path):
    df = combined(tmp_path)
    df["cf_cvg_min"] = df["cf_cvg_min"].astype("int64")  # as a CSV of whole counts reads
    dest = tmp_path / "zonal_stats.parquet"
    panel.write_parquet(df, dest)
    back = pd.read_parquet(dest)
    assert list(back.columns) == table.columns(["country"])
    assert len(back) == len(df) == 18
    assert back["month"].iloc[0] == dt.date(2019, 1, 1)
    assert back["start_month"].iloc[0] == dt.date(2019, 2, 1)
    for col in ("source", "satellite", "product", "zone_kind", "shape", "quality"):
        assert isinstance(back[col].dtype, pd.CategoricalDtype), col
    assert back["zone_id"].dtype == "string" and back["parent_id"].dtype == "string"
    assert str(back["months_since_start"].dtype) == "Int32"
    assert back["mean"].dtype == "float64"
    assert back["cf_cvg_min"].dtype == "float64"  # whatever the values (whole counts here)
    schema = pq.read_schema(dest)
    assert schema.field("mean").metadata[b"unit"] == "nW/cm²/sr".encode()
    assert b"months from start_month" in schema.field("months_since_start").metadata[b"description"]
    assert pq.read_schema(dest).field("month").type == "date32[day]"


def test_the_wide_table_has_a_column_per_month(tmp_path):
    df = combined(tmp_path)
    w = panel.wide(df, "mean", ["country"])
    assert list(w.columns) == [
        "zone_id", "source", "satellite", "zone_kind", "parent_id", "ring_inner_km",
        "ring_outer_km", "shape", "area_km2", "country", "start_month",
        "2019-01", "2019-02", "2019-03",
    ]  # fmt: skip
    assert len(w) == 3 * 2
    # each zone, then its rings; the months hold the statistic
    assert list(w.zone_id[w.source == "eog"]) == ["z0", "z0__ring_0_5km", "z1"]
    row = w[(w.zone_id == "z1") & (w.source == "eog")].iloc[0]
    assert [row["2019-01"], row["2019-02"], row["2019-03"]] == [10.0, 11.0, 12.0]
    panel.write_wide(df, tmp_path / "wide.csv", "observed_share", ["country"])
    text = (tmp_path / "wide.csv").read_text().splitlines()
    assert text[1].endswith(",1.0000,1.0000,1.0000")


def test_the_readme_documents_every_column_with_its_unit():
    cols = table.columns(["country"])
    files = pd.DataFrame(
        [["eog", "2019-01", "vcmcfg", "npp", "75N060W", "a.tgz", "201902051200"]],
        columns=["source", "month", "product", "satellite", "tile", "file", "creation_stamp"],
    )
    text = describe.readme(
        table_columns=cols,
        wide_stat="mean",
        months=["2019-01"],
        zones_summary={
            "source": "z.geojson",
            "sha256": "ab",
            "zones": 2,
            "areas": 6,
            "rings_km": [0, 5, 10],
            "discs": 0,
        },  # fmt: skip
        config_yaml="months: {start: 2019-01}\n",
        files=files,
        sources={"eog": {"label": "EOG monthly v10"}},
        rows=6,
        version="0.3.0",
        written=dt.datetime(2026, 12, 2, 12, 0),
    )
    for col in cols:
        assert f"\n{col}\n" in text, col
    assert "nW/cm²/sr: Σ w·r / Σ w" in text
    assert "kept from the zones file" in text  # country
    assert "4 rings" in text and "(mean)" in text
    assert "eog 2019-01 vcmcfg npp 75N060W 201902051200 a.tgz" in text
    assert 'arrow::read_parquet("results/zonal_stats.parquet")' in text
    assert "months: {start: 2019-01}" in text
