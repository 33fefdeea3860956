"""The report's tables: file names per zone id, the zones chosen, provenance of the
files used, the run summary and the self-contained HTML tables."""

import json
import re
import sys
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from sezlights import htmltable, labels, report, table
from sezlights.errors import UserError
from sezlights.htmltable import html_table
from sezlights.labels import file_stem, file_stems
from sezlights.manifest import Granule, Manifest, Part
from sezlights.redact import redact
from sezlights.report import choose_zones, provenance_table, run_summary_html

# ------------------------------------------------------------------ helpers


def stats(sums, sources=("eog",), months=("2019-01", "2019-02", "2019-03")):
    """A statistics table with every column: ``sums[source][zone_id]`` is the sum of
    lights of each month (None: outside the coverage, nothing observed)."""
    rows = []
    for source in sources:
        for zone_id, s in sums[source].items():
            for month in months:
                empty = s is None
                rows.append(
                    {
                        **dict.fromkeys(table.COLUMNS, np.nan),
                        "zone_id": zone_id,
                        "month": month,
                        "source": source,
                        "satellite": "npp",
                        "observed_share": np.nan if empty else 1.0,
                        "sum": np.nan if empty else float(s),
                        "mean": np.nan if empty else float(s) / 10,
                        "quality": "outside_coverage" if empty else "ok",
                    }
                )
    return pd.DataFrame(rows, columns=table.COLUMNS)


class Cells(HTMLParser):
    """Text of every table cell, per table, and every tag seen (strict enough to
    notice broken markup: every opened td/th/tr/table must close)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables, self.tags, self.open, self.scripts = [], [], [], []
        self._cell = None
        self._script = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("table", "tr", "td", "th"):
            self.open.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "script":
            self._script = ""

    def handle_endtag(self, tag):
        if tag in ("table", "tr", "td", "th"):
            assert self.open and self.open[-1] == tag, (tag, self.open)
            self.open.pop()
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(self._cell)
            self._cell = None
        if tag == "script" and self._script is not None:
            self.scripts.append(self._script)
            self._script = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        if self._script is not None:
            self._script += data


def parse(page: str) -> Cells:
    p = Cells()
    p.feed(page)
    p.close()
    assert not p.open, p.open
    return p


def datatables_rows(page: str) -> list[list]:
    """The rows an itables page hands to DataTables (JSON in its script)."""
    m = re.search(r"let dt_args = (\{.*?\n\s*\});", page, re.S)
    assert m, "no DataTables arguments in the page"
    return json.loads(json.loads(m.group(1))["data_json"])


# ------------------------------------------------------------------ file stems


COLLIDING = [
    ("SEZ/North", "SEZ North"),
    ("Zürich-Ω", "Zurich-O"),
    ("a", "A"),
    ("x.", "x"),
    ("", " "),
]


@pytest.mark.parametrize(("a", "b"), COLLIDING)
def test_ids_with_the_same_slug_get_different_stems(a, b):
    assert file_stem(a) != file_stem(b)
    assert file_stem(a).lower() != file_stem(b).lower()
    assert len(file_stems([a, b])) == 2


def test_the_hash_is_what_tells_ids_with_one_slug_apart():
    assert file_stem("SEZ/North")[:-9] == file_stem("SEZ North")[:-9] == "SEZ_North"
    assert file_stem("")[:-9] == file_stem(" ")[:-9] == "zone"


@pytest.mark.parametrize(
    ("zone_id", "slug"),
    [
        ("SEZ/North", "SEZ_North"),
        ("Zürich-Ω", "Zurich"),
        ("KE-ATHI", "KE-ATHI"),
        ("../etc/passwd", "etc_passwd"),
        ("深圳", "zone"),
        ("", "zone"),
        ("x" * 300, "x" * 40),
    ],
)
def test_stems_are_readable_ascii_file_names(zone_id, slug):
    stem = file_stem(zone_id)
    assert re.fullmatch(r"[A-Za-z0-9_.-]+-[0-9a-f]{8}", stem), stem
    assert stem.rsplit("-", 1)[0] == slug
    assert not stem.startswith((".", "-"))
    assert file_stem(zone_id) == stem  # the same every run


def test_a_stem_collision_is_refused(monkeypatch):
    assert file_stems(["a", "b"]) == {"a": file_stem("a"), "b": file_stem("b")}
    monkeypatch.setattr(labels, "file_stem", lambda z: "same-00000000")
    with pytest.raises(RuntimeError, match="share file name stem"):
        file_stems(["a", "b"])


# ------------------------------------------------------------------ choose_zones


def test_all_zones_are_shown_up_to_the_cap():
    t = stats({"eog": {"z0": 1, "z1": 5, "z2": None, "z3": 2}})
    shown = choose_zones(t, None, 4)
    assert list(shown.columns) == ["rank", "zone_id", "sum_of_lights_all_months", "why"]
    assert list(shown.zone_id) == ["z0", "z1", "z2", "z3"]
    assert list(shown["rank"]) == [1, 2, 3, 4]
    assert shown.sum_of_lights_all_months.tolist() == [3.0, 15.0, 0.0, 6.0]
    assert set(shown.why) == {"all 4 zones"}


def test_beyond_the_cap_the_brightest_are_shown_ties_by_id():
    t = stats({"eog": {"z0": 1, "z1": 5, "z2": None, "z3": 5, "z4": 2}})
    shown = choose_zones(t, None, 3)
    assert list(shown.zone_id) == ["z1", "z3", "z4"]
    assert shown.why.iloc[0] == "3 brightest of 5 zones"


def test_listed_zones_are_shown_in_their_order_once():
    t = stats({"eog": {"z0": 1, "z1": 5, "z2": None}})
    shown = choose_zones(t, ["z2", "z0", "z2"], 1)
    assert list(shown.zone_id) == ["z2", "z0"]
    assert set(shown.why) == {"listed in report.zones"}
    assert list(choose_zones(t, [], 5).zone_id) == ["z0", "z1", "z2"]  # [] = no list


def test_an_unknown_listed_zone_is_one_clear_error():
    t = stats({"eog": {"z0": 1, "z1": 5}})
    with pytest.raises(
        UserError, match=r"report.zones names 2 zone id\(s\) not in the zones file: nope, z9;"
    ):
        choose_zones(t, ["z1", "z9", "nope"])


def test_ids_are_compared_exactly_as_strings(tmp_path):
    t = stats({"eog": {"NA": 1, " z1": 2, "z1": 3, "007": 4}})
    path = tmp_path / "zonal_stats.csv"
    table.write(t, path)
    t = table.read(path)
    assert list(choose_zones(t, ["NA", " z1", "007"]).zone_id) == ["NA", " z1", "007"]
    with pytest.raises(UserError, match=r"2 zone id\(s\) not in the zones file: 7, 'z1 ';"):
        choose_zones(t, ["z1 ", 7])


def test_with_two_sources_zones_are_ranked_by_eog():
    sums = {
        "eog": {"a": 1, "b": 3, "c": 2},
        "blackmarble": {"a": 30, "b": 10, "c": 20},
    }
    t = stats(sums, sources=("blackmarble", "eog"))
    shown = choose_zones(t, None, 2)
    assert list(shown.zone_id) == ["b", "c"]
    assert shown.sum_of_lights_all_months.tolist() == [9.0, 6.0]
    assert shown.why.iloc[0] == "2 brightest of 3 zones by eog sum of lights"
    only_bm = t[t.source == "blackmarble"]
    assert list(choose_zones(only_bm, None, 2).zone_id) == ["a", "c"]
    assert choose_zones(only_bm, None, 2).why.iloc[0] == "2 brightest of 3 zones"


def test_a_zone_without_eog_rows_still_counts_as_a_zone():
    t = stats({"eog": {"a": 1}, "blackmarble": {"a": 1, "b": 100}}, sources=("eog", "blackmarble"))
    shown = choose_zones(t, None, 1)
    assert list(shown.zone_id) == ["a"]
    assert shown.why.iloc[0] == "1 brightest of 2 zones by eog sum of lights"


# ------------------------------------------------------------------ provenance


def write_manifests(tmp_path) -> list:
    """Two months' manifests as list_month_files writes them: EOG (one file without a
    listed size) and Black Marble with both products, one tile absent for NOAA-20."""
    eog = Manifest(
        "eog",
        "2019-02",
        [
            Granule("75N060W", "vcmcfg", "npp", "download", (Part(
                "file", "SVDNB_npp_20190201-20190228_75N060W_vcmcfg_v10_c201903110900.tgz",
                "https://eogdata.mines.edu/.../75N060W.tgz", 1234567890, "201903110900"),)),
            Granule("00N060W", "vcmcfg", "npp", "download", (Part(
                "file", "SVDNB_npp_20190201-20190228_00N060W_vcmcfg_v10_c201903110900.tgz",
                "https://eogdata.mines.edu/.../00N060W.tgz", None, "201903110900"),)),
        ],
        series=[{"product": "vcmcfg", "satellite": "npp"}],
        listing_urls=["https://eogdata.mines.edu/nighttime_light/monthly/v10/2019/201902/vcmcfg/"],
    )  # fmt: skip
    bm = Manifest(
        "blackmarble",
        "2019-01",
        [
            Granule("h18v07", "VNP46A3", "npp", "download", (Part(
                "file", "VNP46A3.A2019001.h18v07.002.2025133151707.h5",
                "https://data.laadsdaac.earthdatacloud.nasa.gov/prod-lads/VNP46A3/"
                "VNP46A3.A2019001.h18v07.002.2025133151707.h5?X-Amz-Signature=s3cr3t",
                9876543, "2025133151707"),)),
            Granule("h18v07", "VJ146A3", "j01", "download", (Part(
                "file", "VJ146A3.A2019001.h18v07.002.2025140000000.h5",
                "https://data.laadsdaac.earthdatacloud.nasa.gov/prod-lads/VJ146A3/"
                "VJ146A3.A2019001.h18v07.002.2025140000000.h5", None, "2025140000000"),)),
        ],
        series=[
            {"product": "VNP46A3", "satellite": "npp"},
            {"product": "VJ146A3", "satellite": "j01"},
        ],
        absent=[{"product": "VJ146A3", "satellite": "j01", "tile": "h19v07"}],
    )  # fmt: skip
    paths = []
    for name, m in (("eog-2019-02.json", eog), ("blackmarble-2019-01.json", bm)):
        m.write(tmp_path / name)
        paths.append(tmp_path / name)
    return paths


def test_provenance_lists_every_file_of_both_sources(tmp_path):
    tiles = provenance_table(write_manifests(tmp_path))
    assert list(tiles.columns) == report.PROVENANCE_COLUMNS
    assert tiles[["source", "month", "product", "tile"]].values.tolist() == [
        ["eog", "2019-02", "vcmcfg", "00N060W"],
        ["eog", "2019-02", "vcmcfg", "75N060W"],
        ["blackmarble", "2019-01", "VJ146A3", "h18v07"],
        ["blackmarble", "2019-01", "VNP46A3", "h18v07"],
    ]
    assert tiles.satellite.tolist() == ["npp", "npp", "j01", "npp"]
    assert tiles.creation_stamp.tolist()[2:] == ["2025140000000", "2025133151707"]
    assert tiles.bytes_listed.isna().tolist() == [True, False, True, False]
    assert tiles.bytes_listed.iloc[1] == 1234567890
    assert tiles.read.tolist() == ["download"] * 4
    assert "s3cr3t" not in tiles.url.iloc[3] and "X-Amz-Signature=(hidden)" in tiles.url.iloc[3]
    assert provenance_table([]).columns.tolist() == report.PROVENANCE_COLUMNS


# ------------------------------------------------------------------ run summary

CONFIG = {
    "months": {"start": "2019-01", "end": "2019-02"},
    "zones": {"path": "config/zones/demo_zones.geojson", "id_field": "zone_id"},
    "eog": {
        "product": "vcmcfg",
        "base_url": "https://eogdata.mines.edu/nighttime_light/monthly/v10",
        "auth": {
            "token_url": "https://eogauth.mines.edu/auth/realms/master/protocol/openid-connect/token",
            "client_id": "eogdata_oidc",
            "client_secret": "2677ad81-not-for-print",
            "password": "hunter2",
        },
    },
    "blackmarble": {
        "collection": "5200",
        "token": "eyJ-secret-token",
        "cmr_url": "https://user:pa55@example.org/search/?apikey=k3y&x=1",
    },
    "report": {"zones": None, "max_zones": 50},
}
DESCRIBED = {
    "eog": {"source": "eog", "label": "EOG VIIRS DNB monthly composites v10", "product": "vcmcfg"},
    "blackmarble": {
        "source": "blackmarble",
        "label": "NASA Black Marble monthly (VNP46A3, VJ146A3)",
        "product": "VNP46A3, VJ146A3",
        "collection": "5200",
        "endpoint": "cloud",
        "quality_accepted": [0],
    },
}


def test_run_summary_has_the_facts_per_source_and_no_secrets(tmp_path):
    manifests = write_manifests(tmp_path)
    tiles = provenance_table(manifests)
    zsum = tmp_path / "zones_summary.json"
    zsum.write_text(
        json.dumps(
            {
                "source": "config/zones/demo_zones.geojson",
                "sha256": "ab" * 32,
                "zones": 3,
                "id_field": "zone_id",
            }
        )
    )
    t = stats(
        {"eog": {"a": 1, "b": None, "<c>": 2}, "blackmarble": {"a": 1, "b": 3, "<c>": 2}},
        sources=("eog", "blackmarble"),
        months=("2019-01", "2019-02"),
    )
    t.loc[(t.source == "blackmarble") & (t.zone_id == "b"), "quality"] = [
        "partly_observed",
        "no_cloud_free",
    ]
    shown = choose_zones(t, None, 50)
    page = run_summary_html(
        zsum, redact(CONFIG), ["2019-01", "2019-02"], tiles, shown, table=t,
        manifests=manifests, sources=DESCRIBED,
        tiles_needed={"eog": ["75N060W", "00N060W"], "blackmarble": ["h18v07"]},
    )  # fmt: skip
    cells = parse(page)
    facts = {row[0]: row[1] for row in cells.tables[0]}
    assert facts["months"] == "2019-01 to 2019-02 (2)"
    assert facts["zones file sha256"] == "ab" * 32
    assert facts["tiles needed"] == "blackmarble: h18v07; eog: 75N060W, 00N060W"
    assert facts["files used"] == "4"
    assert facts["zones plotted one by one"] == "3 of 3 (all 3 zones)"

    head, *rows = cells.tables[1]
    per_source = {r[0]: dict(zip(head, r, strict=True)) for r in rows}
    assert list(per_source) == ["eog", "blackmarble"]
    assert per_source["eog"]["product"] == "vcmcfg"
    assert per_source["blackmarble"]["product"] == "VNP46A3, VJ146A3"
    assert per_source["blackmarble"]["collection"] == "5200"
    assert per_source["blackmarble"]["satellites"] == "Suomi NPP, NOAA-20"
    assert per_source["blackmarble"]["tiles absent from the server"] == "1"
    assert {k: per_source["eog"][k] for k in report.QUALITIES} == {
        "ok": "4",
        "partly_observed": "0",
        "no_cloud_free": "0",
        "outside_coverage": "2",
    }
    assert {k: per_source["blackmarble"][k] for k in report.QUALITIES} == {
        "ok": "4",
        "partly_observed": "1",
        "no_cloud_free": "1",
        "outside_coverage": "0",
    }
    # products and satellites, month by month
    head, *months = cells.tables[2]
    by_month = [dict(zip(head, r, strict=True)) for r in months]
    assert [(r["source"], r["month"]) for r in by_month] == [
        ("eog", "2019-02"), ("blackmarble", "2019-01")
    ]  # fmt: skip
    assert by_month[1]["products (satellites)"] == "VNP46A3 (Suomi NPP), VJ146A3 (NOAA-20)"
    assert by_month[1]["tiles absent"] == "h19v07 (VJ146A3)"
    # creation stamps: a month x tile table per source (a tile per product where several)
    eog_stamps = cells.tables[3]
    assert eog_stamps[0] == ["month", "00N060W", "75N060W"]
    assert eog_stamps[-1] == ["2019-02", "201903110900", "201903110900"]
    assert cells.tables[4][0] == ["month", "h18v07 (VJ146A3)", "h18v07 (VNP46A3)"]
    assert cells.tables[4][-1] == ["2019-01", "2025140000000", "2025133151707"]

    for secret in ("2677ad81", "hunter2", "eyJ-secret", "pa55", "k3y"):
        assert secret not in page
    assert "client_secret: (hidden)" in page
    assert "openid-connect/token" in page  # token_url is an address, shown
    assert "user:(hidden)@example.org" in page


def test_run_summary_works_without_table_and_manifests(tmp_path):
    zsum = tmp_path / "zones_summary.json"
    zsum.write_text(json.dumps({"source": "z.gpkg", "sha256": "0" * 64, "zones": 6}))
    tiles = provenance_table(write_manifests(tmp_path))[lambda d: d.source == "eog"]
    shown = pd.DataFrame({"rank": [1, 2], "zone_id": ["a", "b"], "why": "2 brightest of 6 zones"})
    page = run_summary_html(zsum, {}, ["2019-02"], tiles, shown, sources=DESCRIBED)
    cells = parse(page)
    facts = {row[0]: row[1] for row in cells.tables[0]}
    assert facts["zones plotted one by one"] == "2 of 6 (2 brightest of 6 zones)"
    head, *rows = cells.tables[1]
    assert dict(zip(head, rows[0], strict=True))["product"] == "vcmcfg"
    assert "ok" not in head


def test_redact_hides_secret_keys_and_url_passwords():
    out = redact(CONFIG)
    eog = out["eog"]["auth"]
    assert eog["client_secret"] == eog["password"] == "(hidden)"
    assert eog["client_id"] == "eogdata_oidc"
    assert eog["token_url"].endswith("/openid-connect/token")
    bm = out["blackmarble"]
    assert bm["token"] == "(hidden)"
    assert bm["cmr_url"] == "https://user:(hidden)@example.org/search/?apikey=(hidden)&x=1"
    assert CONFIG["eog"]["auth"]["password"] == "hunter2"  # a copy


# ------------------------------------------------------------------ html tables

ODD = ["<b>bold</b>", "  two  spaces", "Zürich-Ω", "NA", "a&b", "007"]


def odd_table(n=None):
    n = len(ODD) if n is None else n
    ids = [ODD[i % len(ODD)] + ("" if i < len(ODD) else f"#{i}") for i in range(n)]
    return pd.DataFrame(
        {
            "zone_id": ids,
            "month": "2019-01",
            "mean": [np.nan if i % 4 == 1 else i + 0.5 for i in range(n)],
            "pixels": pd.array([None if i == 2 else i for i in range(n)], dtype="Int64"),
            "quality": "ok",
        }
    )


def test_html_table_is_self_contained_and_holds_every_row_escaped():
    df = odd_table()
    page = html_table(df, "Zone <statistics>")
    cells = parse(page)
    assert ("title", {}) in cells.tags
    assert "Zone &lt;statistics&gt;" in page
    assert not any(t == "b" for t, _ in cells.tags)  # an id's markup is shown, not made
    for tag, attrs in cells.tags:  # nothing loaded from elsewhere
        assert not (attrs.get("src") or "").startswith(("http", "//")), (tag, attrs)
        if tag == "link":
            assert not (attrs.get("href") or "").startswith(("http", "//")), attrs
    rows = datatables_rows(page)
    assert len(rows) == len(df)
    shown_ids = [r[0].replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") for r in rows]
    assert shown_ids == ODD  # exactly as they are (DataTables shows escaped text)
    assert rows[1][2] is None and rows[2][3] is None  # NaN / NA: empty cells
    assert rows[0][2] == 0.5
    assert "white-space:pre" in page  # spaces in ids are kept on screen
    # the static preview (shown until the script runs) is a real table too
    preview = next(t for t in cells.tables if len(t) > 1)
    assert preview[0][0].endswith("zone_id")  # after itables' "static preview" marker
    assert preview[0][1:] == ["month", "mean", "pixels", "quality"]
    assert [r[0] for r in preview[1:]] == ODD


def test_html_table_without_itables_is_a_plain_table(monkeypatch):
    monkeypatch.setitem(sys.modules, "itables", None)  # import itables -> ImportError
    df = odd_table()
    page = html_table(df, "Plain")
    cells = parse(page)
    assert "DataTable" not in page
    (tab,) = cells.tables
    assert tab[0] == ["zone_id", "month", "mean", "pixels", "quality"]
    assert [r[0] for r in tab[1:]] == ODD
    assert tab[2][2] == "" and tab[3][3] == ""
    assert tab[1][2] == "0.5"


@pytest.mark.parametrize("itables_installed", [True, False])
def test_big_tables_are_cut_with_a_note(monkeypatch, itables_installed):
    if not itables_installed:
        monkeypatch.setitem(sys.modules, "itables", None)
    df = odd_table(30)
    page = html_table(df, "Big", max_rows=12, full_table="results/zonal_stats.csv")
    assert "Showing the first 12 of 30 rows." in page
    assert "<code>results/zonal_stats.csv</code>" in page
    if itables_installed:
        assert len(datatables_rows(page)) == 12
    else:
        assert len(parse(page).tables[0]) == 1 + 12
    page = html_table(df, "Big", max_rows=30, full_table="results/zonal_stats.csv")
    assert "Showing" not in page and "30 rows, as in" in page


def test_pages_fit_in_the_data_url_chromium_accepts():
    """The single-file report embeds each page as a base64 data: URL; Chromium shows
    none longer than 2 MB (2,097,152 characters)."""
    df = odd_table(20_000)
    df["text"] = "x" * 40
    page = html_table(df, "Wide", full_table="results/zonal_stats.csv")
    size = len(page.encode())
    assert size <= htmltable.MAX_BYTES
    assert len("data:text/html;charset=utf8;base64,") + 4 * -(-size // 3) < 2_097_152
    n = len(datatables_rows(page))
    assert 1000 < n < 20_000
    assert f"Showing the first {n:,} of 20,000 rows." in page
    bigger = html_table(df, "Wide", max_bytes=None)
    assert len(datatables_rows(bigger)) == htmltable.MAX_ROWS


# ------------------------------------------------------------------ every zone, at any size


def big_stats(zones: int, months: int = 12) -> pd.DataFrame:
    """A statistics table of ``zones`` zones x ``months`` months x both sources."""
    rng = np.random.default_rng(7)
    ids = [f"SEZ-{i:05d} {'Nord' if i % 2 else 'Süd'}" for i in range(zones)]
    keys = pd.MultiIndex.from_product(
        [ids, [f"2019-{m:02d}" for m in range(1, months + 1)], ["blackmarble", "eog"]],
        names=["zone_id", "month", "source"],
    ).to_frame(index=False)
    n = len(keys)
    df = pd.DataFrame({c: np.nan for c in table.COLUMNS}, index=range(n))
    df[["zone_id", "month", "source"]] = keys
    df["satellite"] = "npp"
    df["area_km2"] = np.repeat(rng.uniform(0.1, 500, zones).round(3), months * 2)
    df["observed_share"] = rng.uniform(0, 1, n).round(4)
    df["mean"] = rng.lognormal(1, 1, n).astype(np.float32).astype(float)
    df["sum"] = df["mean"] * rng.uniform(1, 1000, n)
    df["quality"] = np.where(df["observed_share"] > 0.5, "ok", "partly_observed")
    return df


def test_every_zone_is_in_the_report_however_long_the_table():
    """6,000 zones x 12 months x 2 sources = 144,000 rows, fifty times what a page holds:
    the full table is not cut to its first rows (a search would miss the rest), and every
    zone has its row in one of the pages of the table by zone, each page within the cap."""
    from sezlights.perzone import per_zone

    df = big_stats(6000)
    page = html_table(df, "All zones and months", full_table="results/zonal_stats.csv",
                      whole=True, note="Every zone has a row in the table by zone.")  # fmt: skip
    assert len(page.encode()) < 10_000 and "dt_args" not in page
    assert (
        "The table's 144,000 rows are more than a page of the report holds. The full table is "
        "<code>results/zonal_stats.csv</code>. Every zone has a row in the table by zone."
    ) in page
    zones = per_zone(df)
    pages = htmltable.html_pages(zones, "Every zone", note="Each month is in the CSV.")
    assert len(pages) > 1
    seen = []
    for i, (p, start, end) in enumerate(pages, 1):
        assert len(p.encode()) <= htmltable.MAX_BYTES
        rows = datatables_rows(p)
        assert [r[0] for r in rows] == list(zones.zone_id[start:end])
        assert f"Rows {start + 1:,} to {end:,} of 6,000 (page {i} of {len(pages)})." in p
        assert "Showing the first" not in p
        seen += rows
    assert [r[0] for r in seen] == list(zones.zone_id) and len(set(zones.zone_id)) == 6000
    # a zone's row: its months and means, per source
    one = df[df.zone_id == "SEZ-04321 Nord"]
    row = dict(zip(zones.columns, seen[4321], strict=True))
    for source in ("eog", "blackmarble"):
        months = one[one.source == source]
        assert row[f"{source}_months"] == 12
        assert row[f"{source}_months_ok"] == (months.quality == "ok").sum()
        assert row[f"{source}_mean"] == pytest.approx(months["mean"].mean(), rel=1e-3)
        assert row[f"{source}_sum"] == pytest.approx(months["sum"].mean(), rel=1e-3)
        assert row[f"{source}_observed_share"] == pytest.approx(
            months.observed_share.mean(), rel=1e-3
        )


def test_a_table_that_fits_is_shown_whole_and_in_one_page():
    from sezlights.perzone import per_zone

    df = stats({"eog": {"a": 10, "b": None}, "blackmarble": {"a": 5, "b": 7}},
               sources=("eog", "blackmarble"))  # fmt: skip
    page = html_table(df, "All", full_table="results/zonal_stats.csv", whole=True)
    assert len(datatables_rows(page)) == len(df) and "12 rows, as in" in page
    zones = per_zone(df)
    assert list(zones.columns[:4]) == ["zone_id", "area_km2", "eog_months", "eog_months_ok"]
    b = zones.set_index("zone_id").loc["b"]
    assert b.eog_months == 3 and b.eog_months_ok == 0 and np.isnan(b.eog_mean)
    assert b.blackmarble_months_ok == 3 and b.blackmarble_sum == 7
    ((p, start, end),) = htmltable.html_pages(zones, "Every zone")
    assert (start, end) == (0, 2) and "Rows " not in p
    assert [r[0] for r in datatables_rows(p)] == ["a", "b"]


def test_rows_that_fit_only_without_the_datatables_bundle_make_a_plain_table():
    df = odd_table(200)
    page = html_table(df, "Plain when it fits", max_bytes=150_000)  # the bundle is 975 KB
    assert "dt_args" not in page and len(page.encode()) <= 150_000
    assert len(parse(page).tables[0]) == 1 + 200


def test_products_by_month_give_the_processing_line_and_the_bytes_each_way():
    """Issue 19: per source and month, the processing line (where a source has several)
    and the megabytes fetched, as whole files and by window, as the listing counted."""
    from sezlights.manifest import Granule, Manifest, Part

    def granule(read, whole, window, line=None, tile="global"):
        part = Part("radiance", f"{tile}.tif", f"https://x/{tile}.tif", size=whole)
        return Granule(tile, "p", "npp", read, (part,), line=line, bytes_download=whole,
                       bytes_window=window)  # fmt: skip

    series_ = [{"product": "p", "satellite": "npp"}]
    manifests = [
        Manifest("len", "2017-03", [granule("window", 4_000_000_000, 2_500_000, "rp2/vcm-slexcl")],
                 series=series_),  # fmt: skip
        Manifest("len", "2017-04", [granule("download", 3_000_000, 3_500_000, "ops/vcm-slexcl")],
                 series=series_),  # fmt: skip
        Manifest("blackmarble", "2017-04",
                 [granule("download", 40_000_000, None, tile="h21v08"),
                  granule("window", 30_000_000, 1_000_000, tile="h21v09")], series=series_),
    ]  # fmt: skip
    df = report._products_by_month(manifests)
    rows = {(r.source, r.month): r for r in df.itertuples(index=False)}
    cols = list(df.columns)
    get = {key: {c: row[i] for i, c in enumerate(cols)} for key, row in rows.items()}
    assert get[("len", "2017-03")]["processing line"] == "rp2/vcm-slexcl"
    assert get[("len", "2017-04")]["processing line"] == "ops/vcm-slexcl"
    assert get[("len", "2017-03")]["MB fetched"] == "2.5"
    assert get[("len", "2017-03")]["MB as whole files"] == "4000.0"
    assert get[("len", "2017-03")]["MB by window"] == "2.5"
    assert get[("len", "2017-04")]["MB fetched"] == "3.0"  # whole files were cheaper
    assert get[("len", "2017-04")]["files downloaded"] == 1
    bm = get[("blackmarble", "2017-04")]
    assert (bm["files downloaded"], bm["files read by window"]) == (1, 1)
    assert bm["MB fetched"] == "41.0" and bm["MB as whole files"] == "70.0"
    assert bm["MB by window"] == ""  # one file's window was not counted: no sum
    assert bm["processing line"] == ""
    # a run whose sources have no processing lines has no such column
    only_bm = report._products_by_month(manifests[2:])
    assert "processing line" not in only_bm.columns
