"""The real workflow, run by Snakemake in a temporary folder against the local stand-ins."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from helpers import (
    CLIENT_SECRET,
    EARTHDATA_TOKEN,
    PASSWORD,
    PIXEL_ARCSEC,
    REPO,
    SERVER_PATH,
    approx,
    edit_config,
    eog_globe,
    eog_standin,
    files_containing,
    full_log,
    kill_when,
    last_line,
    oracle,
    read_table,
    set_months,
    snakemake,
    workflow_dir,
)
from sezlights_standin import eog_tiles
from shapely.geometry import box

from sezlights.table import COLUMNS
from sezlights.zones import load_zones

pytestmark = pytest.mark.workflow


def check_against_oracle(table: pd.DataFrame, zones_path):
    zones = load_zones(zones_path, "zone_id").set_index("zone_id")
    for month, rows in table.groupby("month"):
        globe = eog_globe(month)
        for _, row in rows.iterrows():
            ref = oracle(zones.geometry[row.zone_id], *globe)
            assert row["quality"] == ref.pop("quality"), (month, row.zone_id)
            for k, v in ref.items():
                assert row[k] == approx(k, v), (month, row.zone_id, k)


def test_demo_end_to_end_reruns_and_extension(eog_server, tmp_path):
    work = workflow_dir(tmp_path, eog_server)
    p = snakemake(work)
    table = read_table(work / "results/zonal_stats.csv")
    assert list(table.columns) == COLUMNS and len(table) == 6 * 3
    assert table.equals(table.sort_values(["zone_id", "month", "source"]).reset_index(drop=True))
    check_against_oracle(table, work / "config/zones/demo_zones.geojson")
    for m in ("2019-01", "2019-02", "2019-03"):
        assert (work / f"results/stats/eog/{m}.csv").exists()
        assert (work / f"results/manifests/eog/{m}.json").exists()
    # the run ends by saying where the results are
    assert "table: results/zonal_stats.csv" in p.stderr
    # the demo zones need 4 of the 6 tiles a month
    first = eog_server.file_gets()
    assert len(first) == 4 * 3
    assert not any("00N180W" in f or "00N060E" in f for f in first)

    # a second run the same day does nothing and downloads nothing (listings.refresh: daily)
    edit_config(work, lambda cfg: cfg.update(listings={"refresh": "daily"}))
    made = {
        q: q.stat().st_mtime_ns
        for q in (work / "results").rglob("*")
        if q.is_file() and "manifests" not in q.parts and "plan" not in q.parts
    }
    snakemake(work)  # the new epoch lists each month again: nothing else runs
    remade = sorted(str(q.relative_to(work)) for q, t in made.items() if q.stat().st_mtime_ns != t)
    assert remade == [], remade  # not even what reads the manifests (README.txt, report)
    assert eog_server.file_gets() == first
    mtimes = {p: p.stat().st_mtime_ns for p in (work / "results/stats/eog").glob("*.csv")}
    p = snakemake(work)
    assert "Nothing to be done" in p.stdout + p.stderr
    assert eog_server.file_gets() == first
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes

    # extending months.end computes the new month only
    set_months(work, "2019-01", "2019-04")
    snakemake(work)
    new = eog_server.file_gets()[len(first) :]
    assert len(new) == 4 and all("/201904/" in f for f in new)
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    assert sorted(read_table(work / "results/zonal_stats.csv").month.unique()) == [
        "2019-01", "2019-02", "2019-03", "2019-04",
    ]  # fmt: skip

    # a republished tile (new creation stamp) recomputes that month only, once the
    # listings' epoch is new (listings.refresh: always lists at every run)
    d = eog_server.tree / "2019/201902/vcmcfg"
    old = next(d.glob("*75N060W*"))
    old.rename(d / old.name.replace("c201903051200", "c201903221000"))
    mtimes = {p: p.stat().st_mtime_ns for p in (work / "results/stats/eog").glob("*.csv")}
    assert "Nothing to be done" in snakemake(work).stderr  # the same day: not listed again
    edit_config(work, lambda cfg: cfg.update(listings={"refresh": "always"}))
    p = snakemake(work)
    assert "file republished: eog 2019-02 75N060W vcmcfg 201903051200 -> 201903221000" in (
        p.stdout + p.stderr
    )
    changed = sorted(q.name for q, t in mtimes.items() if q.stat().st_mtime_ns != t)
    assert changed == ["2019-02.csv"]
    assert eog_server.file_gets()[-1].endswith("75N060W_vcmcfg_v10_c201903221000.tgz")

    # secrets never land in any file the run leaves (logs, benchmarks, metadata, results)
    assert files_containing(work, PASSWORD, CLIENT_SECRET, EARTHDATA_TOKEN) == []


def test_killed_run_resumes_to_identical_results(eog_server, tmp_path):
    ref = workflow_dir(tmp_path / "a", eog_server)
    snakemake(ref)
    work = workflow_dir(tmp_path / "b", eog_server)
    proc = snakemake(work, "--cores", "1", wait=False)
    # with one core, the first month's CSV appearing leaves two months and the table to do
    kill_when(proc, lambda: any((work / "results/stats/eog").glob("*.csv")))
    assert not (work / "results/zonal_stats.csv").exists()
    snakemake(work, "--unlock")
    snakemake(work)
    for rel in [
        "results/zonal_stats.csv",
        *[f"results/stats/eog/2019-0{m}.csv" for m in (1, 2, 3)],
    ]:
        assert (work / rel).read_bytes() == (ref / rel).read_bytes(), rel


@pytest.mark.parametrize(
    "months, message",
    [
        ({"start": "2019-05", "end": "2019-04"}, "start 2019-05 is after end 2019-04"),
        (
            {"start": "2012-01", "end": "2019-04"},
            "2012-01 is before 2012-04, the first month of EOG",
        ),
        ({"start": "2019-13", "end": "2019-04"}, "month 13"),
        ({"start": "Jan 2019", "end": "2019-04"}, "does not match"),
    ],
)
def test_bad_config_fails_before_any_job_with_one_line_last(eog_server, tmp_path, months, message):
    work = workflow_dir(tmp_path, eog_server)
    set_months(work, months["start"], months["end"])
    p = snakemake(work, check=False)
    assert p.returncode != 0
    assert message in last_line(p)
    assert "Traceback" not in p.stdout + p.stderr
    assert not (work / "results").exists()


def test_bad_zones_file_is_one_clear_error(eog_server, tmp_path):
    work = workflow_dir(tmp_path, eog_server)
    (work / "config/zones/demo_zones.geojson").write_text("not geojson at all")
    p = snakemake(work, check=False)
    assert p.returncode != 0
    assert "could not be read as a vector layer" in last_line(p)
    assert "Traceback" not in p.stdout + p.stderr


def test_wrong_password_is_one_clear_error_last(eog_server, tmp_path):
    work = workflow_dir(tmp_path, eog_server)
    p = snakemake(work, check=False, env={"EOG_PASSWORD": "wrong-password-123"})
    assert p.returncode != 0
    assert "EOG rejected the username or password" in last_line(p)
    out = p.stdout + p.stderr
    assert "wrong-password-123" not in out and out.count("EOG rejected the username") <= 2
    assert files_containing(work, "wrong-password-123", CLIENT_SECRET) == []


def test_retired_public_client_is_explained(eog_server, tmp_path):
    work = workflow_dir(tmp_path, eog_server)
    p = snakemake(work, check=False, drop=("EOG_CLIENT_ID", "EOG_CLIENT_SECRET"))
    assert p.returncode != 0
    assert "EOG no longer accepts the public client: set EOG_CLIENT_ID and EOG_CLIENT_SECRET" in (
        last_line(p)
    )


# ---------------------------------------------------------------- EOG as it is


@pytest.fixture(scope="module")
def real_service_trees(tmp_path_factory):
    """The real service's variants (13-digit stamp, NOAA-20 folder, avg_rade9 members,
    extra cvg members), and the same months as plain archives."""
    out = {}
    for plain in (False, True):
        root = tmp_path_factory.mktemp("plain" if plain else "real") / SERVER_PATH
        for start, end in (("2014-01", "2014-01"), ("2022-07", "2022-09")):
            eog_tiles.make_tree(
                root, start, end, PIXEL_ARCSEC, product=("vcmcfg", "vcmslcfg"), plain=plain
            )
        out[plain] = root.parents[2]
    return out


@pytest.mark.parametrize(
    "product, start, end",
    [("vcmcfg", "2014-01", "2014-01"), ("vcmslcfg", "2014-01", "2014-01"),
     ("vcmcfg", "2022-07", "2022-09")],
)  # fmt: skip
def test_the_real_service_with_tokens_that_expire_gives_the_plain_numbers(
    real_service_trees, tmp_path, product, start, end
):
    """Tokens of 2 s instead of 5 minutes, a download cut after its token expired, the
    Apaxy listings, the 13-digit stamp, the NOAA-20 month, old member names: the table
    equals one made from plain archives, and the satellite is recorded. The stand-in's
    logs show a refresh grant, the resumed request carrying a token issued after the
    cut, and no data request sent to the login; no issued token nor secret is in any
    file the run leaves or in what snakemake printed."""
    tables = {}
    for plain, tree in real_service_trees.items():
        with eog_standin(tree, token_lifetime=2 if not plain else 300) as srv:
            work = workflow_dir(tmp_path / str(plain), srv, eog={"product": product})
            set_months(work, start, end)
            if not plain:
                srv.stall_seconds = 1.5
                srv.add_faults("_75N060W_", "stall")  # cut mid-body; resumed after expiry
                edit_config(work, lambda c: c["download"].update(timeout=1))
            p = snakemake(work)
            tables[plain] = read_table(work / "results/zonal_stats.csv")
            if plain:
                continue
            # a refresh grant happened (each job's first token is a password grant)
            assert "refresh_token" in srv.grants, srv.grants
            # the cut request, and the resume of the same file with a token issued after it
            (cut_path,) = [q for _, q, st in srv.requests if "_75N060W_" in q and st == 599]
            assert [st for _, q, st in srv.requests if q == cut_path] == [599, 206]
            (cut_at, cut_token), (_, resumed_token) = [
                (t, tok) for t, _, q, tok in srv.bearer_log if q == cut_path
            ]
            assert resumed_token != cut_token
            assert srv.issued_at(resumed_token).at > cut_at
            # no data request was ever sent to the login (302) or refused (401/403)
            data = [(q, st) for _, q, st in srv.requests if q.startswith(f"/{SERVER_PATH}")]
            assert data and not [d for d in data if d[1] in (302, 401, 403)]
            assert not any("/openid-connect/auth" in q for _, q, _ in srv.requests)
            # no secret, and no token the run was issued, in any file or in the output
            secrets = [PASSWORD, CLIENT_SECRET, *srv.issued_secrets()]
            assert len(secrets) > 4
            assert files_containing(work, *secrets) == []
            printed = p.stdout + p.stderr
            assert not [s for s in secrets if s in printed]
    real, ref = tables[False], tables[True]
    pd.testing.assert_frame_equal(real.drop(columns="satellite"), ref.drop(columns="satellite"))
    if start == "2022-07":
        sat = real.set_index("month").satellite.groupby(level=0).first()
        assert sat.to_dict() == {"2022-07": "npp", "2022-08": "j01", "2022-09": "npp"}


def test_latest_means_the_newest_month_with_every_needed_file(eog_server, tmp_path):
    # 2019-04 lacks a tile the zones need: latest is 2019-03, and the run says why
    next((eog_server.tree / "2019/201904/vcmcfg").glob("*00N060W*")).unlink()
    work = workflow_dir(tmp_path, eog_server)
    set_months(work, "2019-02", "latest")
    p = snakemake(work)
    out = p.stdout + p.stderr
    assert "skipped 2019-04" in out and "00N060W" in out
    assert sorted(read_table(work / "results/zonal_stats.csv").month.unique()) == [
        "2019-02",
        "2019-03",
    ]


def test_latest_plans_with_the_index_tiles_not_the_tiles_near_the_zones(eog_server, tmp_path):
    """A zone a third of a pixel from a tile edge: the tiles within a pixel of it include
    the neighbour tile, its pixels do not. Once the index exists, a month that lacks only
    the neighbour tile is complete for these zones, and latest picks it."""
    work = workflow_dir(tmp_path, eog_server)
    edge = gpd.GeoDataFrame(
        {"zone_id": ["EDGE"]}, geometry=[box(-60.2, 10.0, -60.15, 10.05)], crs=4326
    )
    edge.to_file(work / "edge.geojson")
    edit_config(work, lambda cfg: cfg["zones"].update(path="edge.geojson"))
    set_months(work, "2019-01", "2019-01")
    snakemake(work)  # makes the pixel index: tile 75N180W only
    next((eog_server.tree / "2019/201904/vcmcfg").glob("*75N060W*")).unlink()
    set_months(work, "2019-01", "latest")
    p = snakemake(work)
    assert "months.end latest: 2019-04" in p.stdout + p.stderr
    assert "skipped" not in p.stdout + p.stderr
    assert sorted(read_table(work / "results/zonal_stats.csv").month.unique()) == [
        "2019-01",
        "2019-02",
        "2019-03",
        "2019-04",
    ]


def test_a_conda_environment_of_another_checkout_is_refused(tmp_path, monkeypatch):
    """Two checkouts sharing a --conda-prefix share its environments: a job whose
    environment holds the other checkout's sezlights stops, saying so."""
    from types import SimpleNamespace

    from sezlights.job import run_step

    env = tmp_path / "envs/0123abcd_"
    env.mkdir(parents=True)
    (tmp_path / "envs/0123abcd_.post-deploy.sh").write_text("")  # made by Snakemake
    monkeypatch.setattr("sys.prefix", str(env))
    other = tmp_path / "other-checkout"
    (other / "src/sezlights").mkdir(parents=True)
    (other / "workflow/scripts").mkdir(parents=True)
    log = tmp_path / "step.log"
    ran = []
    job = SimpleNamespace(log=[str(log)], rule="r", scriptdir=str(other / "workflow/scripts"))
    with pytest.raises(SystemExit):
        run_step(job, lambda: ran.append(1))
    assert not ran
    last = log.read_text().splitlines()[-1]
    assert f"has the sezlights package of {REPO}, not that of the workflow it runs" in last
    assert str(other) in last
    job.scriptdir = str(REPO / "workflow/scripts")  # its own checkout: runs
    run_step(job, lambda: ran.append(1))
    assert ran == [1]
    logging.captureWarnings(False)  # run_step set up the job's logging: undo it
    for h in logging.getLogger().handlers[:]:
        if isinstance(h, logging.FileHandler):
            logging.getLogger().removeHandler(h)
            h.close()


# conda package of each third-party module the jobs import (affine comes with rasterio)
CONDA_PACKAGE = {
    "affine": "rasterio", "authlib": "authlib", "bs4": "beautifulsoup4", "geopandas":
    "geopandas-base", "h5py": "h5py", "isal": "python-isal", "itables": "itables",
    "matplotlib": "matplotlib-base", "numpy": "numpy", "pandas": "pandas", "pyogrio": "pyogrio",
    "pyarrow": "pyarrow", "pyproj": "pyproj", "rasterio": "rasterio", "requests": "requests",
    "shapely": "shapely", "urllib3": "urllib3", "yaml": "pyyaml",
}  # fmt: skip


def imported_packages(script: Path) -> set[str]:
    """Conda packages of every third-party module ``script`` imports, through the sezlights
    modules it imports (any import in them, at the top or in a function, and every source
    plug-in the registry names: a superset)."""
    import ast

    seen, found, todo = set(), set(), [(script, "")]
    while todo:
        path, module = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        if module == "sezlights.sources":  # its REGISTRY imports each source's module
            from sezlights.sources import REGISTRY

            for target in REGISTRY.values():
                mod = target.split(":")[0]
                todo.append(((REPO / "src" / Path(*mod.split("."))).with_suffix(".py"), mod))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([node.module] if node.module else []))
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top == "sezlights":
                    parts = REPO / "src" / Path(*name.split("."))
                    for f in (parts / "__init__.py", parts.with_suffix(".py")):
                        if f.exists():
                            todo.append((f, name))
                elif top not in sys.stdlib_module_names and top != "snakemake":
                    found.add(CONDA_PACKAGE[top])
    return found


def rule_environments() -> dict[str, tuple[str, str]]:
    """rule -> (its conda environment file, its script), from workflow/rules."""
    import re

    rules = {}
    for smk in (REPO / "workflow/rules").glob("*.smk"):
        text = smk.read_text()
        for m in re.finditer(r"^(?:rule|checkpoint) (\w+):\n((?:[ \n].*\n?)*)", text, re.M):
            env = re.search(r'conda:\n\s+"\.\./envs/([\w.-]+)"', m[2])
            script = re.search(r'script:\n\s+"\.\./scripts/([\w.-]+)"', m[2])
            if script:
                rules[m[1]] = (env and env[1], script[1])
    return rules


def test_each_job_environment_lists_what_its_jobs_import():
    """One conda environment per kind of job (zones, download, stats, report), each with
    what its rules' scripts import and nothing else; matplotlib and itables only in the
    report's; the sezlights package installed by the post-deploy script from the checkout
    the workflow runs from (no pip section: conda runs it from the copied file's folder)."""
    import yaml

    rules = rule_environments()
    assert len(rules) >= 14 and all(env for env, _ in rules.values()), rules
    needed: dict[str, set[str]] = {}
    for env, script in rules.values():
        needed.setdefault(env, set()).update(imported_packages(REPO / "workflow/scripts" / script))
    assert sorted(needed) == ["download.yaml", "report.yaml", "stats.yaml", "zones.yaml"]
    assert sorted(p.name for p in (REPO / "workflow/envs").glob("*.yaml")) == sorted(needed)
    post_deploy = {(REPO / "workflow/envs" / e).with_suffix(".post-deploy.sh") for e in needed}
    assert len({p.read_text() for p in post_deploy}) == 1
    assert "/workflow/envs/install-sezlights.sh" in next(iter(post_deploy)).read_text()
    script = (REPO / "workflow/envs/install-sezlights.sh").read_text()
    assert (
        'pip install --no-deps --no-build-isolation --no-input --quiet -e "$SEZLIGHTS_SOURCE"'
        in script
    )
    for env, packages in needed.items():
        deps = yaml.safe_load((REPO / "workflow/envs" / env).read_text())["dependencies"]
        assert all(isinstance(d, str) for d in deps), f"{env}: a pip section"
        listed = {d.split()[0] for d in deps}
        assert packages <= listed, (env, packages - listed)
        assert listed - packages <= {"python", "pip", "setuptools"}, (env, listed - packages)
        if env != "report.yaml":
            assert not listed & {"matplotlib-base", "itables"}, env


def test_the_workflow_works_as_a_snakemake_module(eog_server, tmp_path):
    """Another workflow imports ours with `module` from a local path and its own config,
    with its jobs in conda environments (--sdm conda) kept elsewhere (--conda-prefix).

    Snakemake copies each environment file into the conda prefix before conda reads it,
    so the sezlights package must be installed from the checkout the workflow is in,
    whatever that copy's folder: each environment's post-deploy script does it. Conda is
    stood in for by tests/fake_conda.py (Snakemake's own deployment code runs)."""
    import os
    import shutil
    import subprocess

    import fake_conda
    import yaml

    checkout = tmp_path / "elsewhere/sez-nightlights"  # not the checkout the tests run from
    for part in ("workflow", "src"):
        shutil.copytree(REPO / part, checkout / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", checkout)
    work = workflow_dir(tmp_path, eog_server)
    cfg = yaml.safe_load((work / "config/test.yaml").read_text())
    consumer = tmp_path / "consumer"
    (consumer / "config").mkdir(parents=True)
    (consumer / "zones").mkdir()
    gpd.read_file(REPO / "config/zones/demo_zones.geojson").to_file(consumer / "zones/z.gpkg")
    cfg["zones"] = {"path": "zones/z.gpkg", "id_field": "zone_id"}
    (consumer / "config/config.yaml").write_text(yaml.safe_dump({"sez": cfg}))
    (consumer / "Snakefile").write_text(
        f'configfile: "config/config.yaml"\n\n\n'
        f'module sez:\n    snakefile:\n        "{checkout}/workflow/Snakefile"\n'
        f'    config:\n        config["sez"]\n\n\n'
        f"use rule * from sez as sez_*\n\n\n"
        f"rule all:\n    input:\n        rules.sez_combine_zone_stats.output.table,\n"
        f"    default_target: True\n"
    )
    conda = tmp_path / "conda"
    path = f"{fake_conda.install(conda)}{os.pathsep}{os.environ['PATH']}"
    envs = tmp_path / "envs"
    conda_args = ("--sdm", "conda", "--conda-prefix", str(envs))
    snakemake(
        consumer, *conda_args, configfile=None, profile=str(REPO / "profiles/laptop"),
        env={"PATH": path},
    )  # fmt: skip
    table = read_table(consumer / "results/zonal_stats.csv")
    assert len(table) == 6 * 3 and set(table.source) == {"eog"}
    # one environment per kind of job that ran, each made from its file's copy in the prefix
    made = fake_conda.created(conda)
    used = {"zones", "download", "stats"}  # the report's jobs did not run
    assert sorted(Path(m["file"]).parent for m in made) == [envs] * len(used)
    assert full_log(consumer).count("Running post-deploy script") == len(used)
    for m in made:
        python = Path(m["prefix"]) / "bin/python"
        code = "import sezlights; print(sezlights.__file__)"
        where = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
        assert Path(where.stdout.strip()) == checkout / "src/sezlights/__init__.py", m
    specs = {tuple(sorted(map(str, m["spec"]["dependencies"]))) for m in made}
    expected = {
        tuple(
            sorted(
                map(
                    str,
                    yaml.safe_load((REPO / f"workflow/envs/{e}.yaml").read_text())["dependencies"],
                )
            )
        )
        for e in used
    }
    assert specs == expected
