"""The run report: built from a real demo run, opened in headless Chromium.

Fails on a JavaScript page error, a console error, or an empty plot. The
screenshots are kept in tests/artifacts/ (report-home.png, report-zone.png).
"""

import os
import shutil
import subprocess
import sys

import matplotlib.image as mpimg
import pandas as pd
import pytest
from conftest import REPO, edit_config, snakemake, workflow_dir

pytestmark = pytest.mark.workflow
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _browser_or_skip():
    if not os.path.exists(CHROMIUM):
        msg = "Debian's chromium is not installed (.ci/run installs it: apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return pytest.importorskip("playwright.sync_api")


def test_report_opens_in_chromium_with_plots(tile_server, tmp_path):
    pw = _browser_or_skip()
    work = workflow_dir(tmp_path, tile_server)
    snakemake(work)

    # every figure is a real picture, not a blank canvas
    figures = sorted((work / "results/report").glob("*/*.png"))
    assert len(figures) == 2 * 6, figures
    figures.append(work / "results/report/overview.png")
    for png in figures:
        img = mpimg.imread(png)
        assert img.shape[0] > 200 and img.shape[1] > 300, png
        assert img[..., :3].std() > 0.05, f"{png} looks empty"
    tiles = (work / "results/report/tiles.csv").read_text()
    assert tiles.count(".tgz\n") == 4 * 3 and "creation_stamp" in tiles
    summary = (work / "results/report/run_summary.html").read_text()
    assert "sha256" in summary and "config/zones/demo_zones.geojson" in summary
    assert "6 of 6 (all 6 zones)" in summary

    report = work / "report.html"
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--configfile",
            "config/test.yaml",
            "--report",
            str(report),
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr[-3000:]

    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    with pw.sync_playwright() as play:
        browser = play.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(report.as_uri())
        page.get_by_text("Night lights of Special Economic Zones").first.wait_for(timeout=30000)
        for category in ("1. Run", "2. Tiles", "3. Mosaic", "4. Statistics"):
            assert page.get_by_text(category).count() > 0, category
        page.screenshot(path=str(ARTIFACTS / "report-home.png"))

        page.get_by_text("4. Statistics").first.click()
        page.get_by_text("Time series").first.click()
        row = page.locator("tr", has_text="UG-EQUATOR-IP")
        row.locator("a[iconname=eye]").click()
        img = page.locator("img").first
        img.wait_for(timeout=30000)
        width = page.evaluate("() => Math.max(...[...document.images].map(i => i.naturalWidth))")
        assert width > 300, "the time-series plot did not render"
        page.screenshot(path=str(ARTIFACTS / "report-zone.png"))
        browser.close()
    assert errors == []


def test_report_plots_the_brightest_zones_beyond_the_cap(tile_server, tmp_path):
    work = workflow_dir(tmp_path, tile_server)
    snakemake(work)
    kept = [work / "results/zonal_stats.csv", *sorted((work / "results/stats").glob("*.csv"))]
    mtimes = {p: p.stat().st_mtime_ns for p in kept}

    # fewer zones plotted: only the report's figures are redrawn
    edit_config(work, lambda cfg: cfg.setdefault("report", {}).update(max_zones=2))
    snakemake(work)
    assert {p: p.stat().st_mtime_ns for p in kept} == mtimes
    table = pd.read_csv(work / "results/zonal_stats.csv", dtype={"zone_id": str})
    brightest = table.groupby("zone_id")["sum"].sum().sort_values(ascending=False).index[:2]
    for d in ("maps", "timeseries"):
        names = sorted(p.stem for p in (work / "results/report" / d).glob("*.png"))
        assert names == sorted(brightest), d
    summary = (work / "results/report/run_summary.html").read_text()
    assert "2 of 6 (2 brightest of 6 zones)" in summary

    # an id that is not a zone: one clear message, the statistics stay
    edit_config(work, lambda cfg: cfg["report"].update(zones=["KE-ATHI-EPZ", "NOPE"]))
    p = snakemake(work, check=False)
    assert p.returncode != 0
    assert "report.zones names 1 zone id(s) not in the zones file: NOPE" in p.stdout + p.stderr
    assert {p: p.stat().st_mtime_ns for p in kept} == mtimes
