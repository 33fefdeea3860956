"""months.end: latest, searched by the find_latest_month job (sezlights.latest) over
sources whose listings say which months are complete: each source's own search (the base
class's, over its candidate months), then a month every source has."""

from __future__ import annotations

import pytest

from sezlights.errors import MissingFileError, UserError
from sezlights.latest import latest_month
from sezlights.manifest import Granule, Manifest, Part
from sezlights.sources import Series, Source


class FakeSource(Source):
    """A source whose months in ``complete`` list every needed file, newest ``newest``."""

    name = label = short_label = "fake"
    colour, order, download_resource = "#000", 9, "fake_downloads"

    def __init__(self, name, complete, newest="2019-12"):
        super().__init__({})
        self.name, self.ok_months, self.newest = name, set(complete), newest
        self.listed: list[str] = []

    grid = None

    def series(self):
        return [Series("P", "npp", "2012-01")]

    def is_login_page(self, response):
        return False

    def open(self, *a, **kw):
        raise AssertionError("nothing is read")

    def session(self, env=None):
        return object()

    def candidate_months(self, session, first):
        i = int(self.newest[:4]) * 12 + int(self.newest[5:]) - 1
        while i >= int(first[:4]) * 12 + int(first[5:]) - 1:
            yield f"{i // 12:04d}-{i % 12 + 1:02d}"
            i -= 1

    def list_month(self, session, month, needed, epoch=""):
        self.listed.append(month)
        if month not in self.ok_months:
            raise MissingFileError(
                f"{month}: tile(s) {needed[0]} of {self.name} are not listed; ok"
            )
        granules = [
            Granule(t, "P", "npp", "download", (Part("file", f"{t}.x", f"http://x/{t}.x"),))
            for t in needed
        ]
        return Manifest(self.name, month, granules)


def latest(eog_months, bm_months, newest="2019-12"):
    fakes = {
        "eog": FakeSource("eog", eog_months, newest),
        "blackmarble": FakeSource("blackmarble", bm_months, newest),
    }
    needed = {"eog": ["75N060W"], "blackmarble": ["h10v07"]}
    return fakes, lambda: latest_month(fakes, needed, "2012-04")


def test_latest_with_two_sources_is_a_month_both_list_complete():
    # EOG's newest complete month is 2019-04, Black Marble's 2019-03; EOG lacks 2019-03
    _, run = latest(
        ["2019-01", "2019-02", "2019-04"], ["2019-01", "2019-02", "2019-03"], newest="2019-04"
    )
    month, notes = run()
    assert month == "2019-02"
    assert notes[0].startswith("blackmarble: skipped 2019-04: 2019-04: tile(s) h10v07"), notes
    assert notes[-1].startswith("skipped 2019-03: eog 2019-03: tile(s) 75N060W"), notes


def test_latest_gives_up_after_twelve_months_for_each_source():
    # EOG has nothing complete after 2016-06: its search stops after 12 months
    fakes, run = latest(["2016-06"], ["2019-12"])
    msg = r"eog lists no month from 2012-04 on with every file the zones need \(looked at 12"
    with pytest.raises(UserError, match=msg):
        run()
    assert fakes["eog"].listed == [f"2019-{m:02d}" for m in range(12, 0, -1)]
    # each complete now and then, never both in the same month: twelve months tried together
    fakes, run = latest(["2019-12", "2019-10", "2019-08"], ["2019-11", "2018-12", "2018-11"])
    with pytest.raises(UserError, match="none of the 12 months from 2019-11 back"):
        run()
    twelve = [f"2019-{m:02d}" for m in range(11, 0, -1)] + ["2018-12"]
    assert fakes["eog"].listed == ["2019-12"] + twelve
    assert fakes["blackmarble"].listed == ["2019-12", "2019-11"] + twelve[1:]
