"""NASA Black Marble VNP46A3 as a second source, in the same table as EOG.

Real runs against the local LAADS stand-in (HDF-EOS5 files with the real group,
dataset names and attributes at 10' pixels, CSV month listings, Earthdata bearer
token, redirect to Earthdata Login for a bad one).
"""

from __future__ import annotations

import threading
import time

import pytest
import yaml
from helpers import (
    BM_TILES,
    EARTHDATA_TOKEN,
    REPO,
    approx,
    blackmarble_globe,
    eog_globe,
    files_containing,
    last_line,
    oracle,
    read_table,
    set_months,
    snakemake,
    workflow_dir,
)

from sezlights.standin.laads import LAADSServer
from sezlights.zones import load_zones

pytestmark = pytest.mark.workflow


@pytest.fixture
def both(eog_server, laads_server, tmp_path):
    work = workflow_dir(tmp_path, eog_server, laads_server, source={"name": ["eog", "blackmarble"]})
    cfg = yaml.safe_load((work / "config/test.yaml").read_text())
    cfg["months"] = {"start": "2019-01", "end": "2019-02"}
    (work / "config/test.yaml").write_text(yaml.safe_dump(cfg))
    return work


def test_both_sources_in_one_table_each_matching_its_own_oracle(both, laads_server):
    snakemake(both, "results/zonal_stats.csv")
    table = read_table(both / "results/zonal_stats.csv")
    assert sorted(table.source.unique()) == ["blackmarble", "eog"]
    assert len(table) == 6 * 2 * 2  # zones x months x sources: one row each
    assert not table.duplicated(["zone_id", "month", "source"]).any()
    zones = load_zones(REPO / "config/zones/demo_zones.geojson", "zone_id").set_index("zone_id")
    for (source, month), rows in table.groupby(["source", "month"]):
        if source == "eog":
            rad, cvg, lat = eog_globe(month)
            covered = None
        else:
            rad, cvg, covered, lat = blackmarble_globe(month, BM_TILES)
        for _, row in rows.iterrows():
            ref = oracle(zones.geometry[row.zone_id], rad, cvg, lat, covered=covered)
            assert row["quality"] == ref.pop("quality"), (source, month, row.zone_id)
            for k, v in ref.items():
                assert row[k] == approx(k, v), (source, row.zone_id, k)
    # only the tiles some zone touches were downloaded from LAADS
    got = {p.split(".")[2] for p in laads_server.file_gets()}
    assert got and got <= set(BM_TILES) and len(got) < len(BM_TILES)
    bm = [m for m in (both / "results/manifests/blackmarble").glob("*.json")]
    manifest = yaml.safe_load(bm[0].read_text())
    assert manifest["collection"] == "5200" and manifest["satellite"] == "npp"
    assert files_containing(both, EARTHDATA_TOKEN) == []


def test_no_earthdata_token_says_what_to_set(both):
    p = snakemake(both, check=False, drop=("EARTHDATA_TOKEN",))
    assert p.returncode != 0
    assert "no Earthdata token; set EARTHDATA_TOKEN" in last_line(p)


def test_a_refused_earthdata_token_is_a_login_failure(both):
    p = snakemake(both, check=False, env={"EARTHDATA_TOKEN": "expired-token-123"})
    assert p.returncode != 0
    assert "LAADS refused EARTHDATA_TOKEN" in last_line(p)
    assert "expired-token-123" not in p.stdout + p.stderr


class CountingLAADS(LAADSServer):
    """The LAADS stand-in, counting how many files it sends at once (each takes 0.4 s)."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.now = self.most = 0
        self._count = threading.Lock()
        server = self

        class Handler(self.RequestHandlerClass):
            def serve_file(self, target, fault=None, ctype=None):
                with server._count:
                    server.now += 1
                    server.most = max(server.most, server.now)
                try:
                    time.sleep(0.4)
                    return super().serve_file(target, fault, ctype)
                finally:
                    with server._count:
                        server.now -= 1

        self.RequestHandlerClass = Handler


@pytest.mark.parametrize("limit", [1, 2])
def test_laads_downloads_have_their_own_limit(eog_server, laads_tree, tmp_path, limit):
    """Every Black Marble download takes one `laads_downloads`, which each profile caps
    (public scripts report that LAADS stalls clients that open many connections): with
    4 cores and room for 4 EOG downloads, LAADS never sees more than the limit at once."""
    with CountingLAADS(laads_tree, token=EARTHDATA_TOKEN) as laads:
        work = workflow_dir(tmp_path, eog_server, laads, source={"name": "blackmarble"})
        set_months(work, "2019-01", "2019-01")
        snakemake(
            work, "--resources", f"laads_downloads={limit}", "downloads=4", "--cores", "4",
            "results/zonal_stats.csv", cores=None,
        )  # fmt: skip
        assert len(laads.file_gets()) >= 4
        assert laads.most == limit
    for profile in ("laptop", "slurm", "aws-batch"):
        text = (REPO / "profiles" / profile / "config.yaml").read_text()
        assert "laads_downloads" in text, profile


def test_months_before_the_products_first_are_a_config_error(both):
    cfg = yaml.safe_load((both / "config/test.yaml").read_text())
    cfg["source"]["name"] = "blackmarble"
    cfg["months"] = {"start": "2011-12", "end": "2012-02"}
    (both / "config/test.yaml").write_text(yaml.safe_dump(cfg))
    p = snakemake(both, check=False)
    assert p.returncode != 0 and "before 2012-01" in last_line(p)
