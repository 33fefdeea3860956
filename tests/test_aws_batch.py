"""profiles/aws-batch and the Dockerfile, checked as far as possible without AWS.

- the profile parses and names every non-local rule; the memory the rules declare
  (sezlights.memory) is always a memory/vCPU pair Batch accepts;
- the plugin's own code builds the job definition and submission from the
  profile's values (botocore's Stubber stands in for the Batch API);
- ``snakemake --profile profiles/aws-batch --dry-run`` loads the plugin with it;
- a whole run with ``--profile profiles/aws-batch``: the plugin submits every job
  to a local stand-in for the Batch API (tests/fake_batch.py), which runs each
  job's container command in an empty directory of its own (no shared disk), with
  S3 on a local moto_server. The table in the bucket equals a laptop run's;
- the Dockerfile installs the workflow with the same pip command as `make setup`.

Not run here: Docker (no image is built; the "container" is this virtualenv), AWS
Batch itself (queues, compute environments, IAM job roles), AWS S3.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import boto3
import geopandas as gpd
import pytest
import yaml
from botocore.stub import ANY, Stubber
from fake_batch import FakeBatch, pip_shim
from helpers import (
    CLIENT_SECRET,
    PASSWORD,
    REPO,
    SERVER_PATH,
    eog_env,
    last_line,
    set_months,
    snakemake,
    workflow_dir,
)
from s3server import S3Server
from snakemake_executor_plugin_aws_batch.constant import VALID_RESOURCES_MAPPING

pytestmark = pytest.mark.workflow

PROFILE = REPO / "profiles/aws-batch/config.yaml"
QUEUE = "arn:aws:batch:us-east-1:123456789012:job-queue/sez-test"
ROLE = "arn:aws:iam::123456789012:role/sez-test-job"
IMAGE = "sezlights:test"


def profile() -> dict:
    return yaml.safe_load(PROFILE.read_text())


def workflow_rules() -> dict[str, bool]:
    """Rule name -> runs on the main machine (``localrule: True``), from workflow/rules."""
    rules = {}
    for smk in (REPO / "workflow/rules").glob("*.smk"):
        for m in re.finditer(
            r"^(?:rule|checkpoint) (\w+):\n((?:[ \n].*\n?)*)", smk.read_text(), re.M
        ):
            rules[m[1]] = "localrule: True" in m[2]
    return rules


def test_profile_names_every_batch_rule_and_memory_is_what_batch_accepts():
    from snakemake_executor_plugin_aws_batch.constant import VALID_RESOURCES_MAPPING

    from sezlights import memory

    p = profile()
    assert p["executor"] == "aws-batch"
    assert p["default-storage-provider"] == "s3"
    assert p["default-storage-prefix"].startswith("s3://")
    for key in ("aws-batch-region", "aws-batch-job-queue", "aws-batch-job-role", "container-image"):
        assert p[key], key
    assert p["aws-batch-task-timeout"] >= 60
    # downloads stay on the machine that runs snakemake (download.local: auto): no
    # credential goes into a job definition
    assert "envvars" not in p
    assert p["retries"] >= 1 and p["jobs"] >= 1

    rules = workflow_rules()
    remote = sorted(r for r, local in rules.items() if not local and r != "download_month_files")
    assert remote and sorted(p["set-resources"]) == remote
    assert sorted(p["set-threads"]) == remote
    for rule in remote:
        assert p["set-resources"][rule]["runtime"] * 60 <= p["aws-batch-task-timeout"], rule
    # whatever the inputs, the memory declared is valid for the job's vCPUs
    for est in (1, 900, 2048, 3000, 4097, 7000, 8000):
        for threads in (1, 2):
            mb = memory.whole_gib(est, threads=threads)
            assert mb >= est and threads in VALID_RESOURCES_MAPPING[mb], (est, threads, mb)
    assert threads in VALID_RESOURCES_MAPPING[memory.stats_mb(23_000_000)]


def test_plugin_settings_accept_the_profile():
    from snakemake_executor_plugin_aws_batch import ExecutorSettings, common_settings

    p = profile()
    settings = ExecutorSettings(
        region=p["aws-batch-region"],
        job_queue=p["aws-batch-job-queue"],
        job_role=p["aws-batch-job-role"],
        task_timeout=p["aws-batch-task-timeout"],
    )
    assert settings.job_queue.startswith("arn:aws:batch:")
    # jobs get no shared disk: sources and files travel through the default storage
    assert common_settings.implies_no_shared_fs and common_settings.job_deploy_sources


def test_job_definition_the_plugin_builds_from_the_profile():
    """The plugin's BatchJobBuilder, with the Batch API stubbed at the boto3 client."""
    from snakemake_executor_plugin_aws_batch import ExecutorSettings
    from snakemake_executor_plugin_aws_batch.batch_client import BatchClient
    from snakemake_executor_plugin_aws_batch.batch_job_builder import BatchJobBuilder

    p = profile()
    settings = ExecutorSettings(
        region="us-east-1", job_queue=QUEUE, job_role=ROLE, task_timeout=p["aws-batch-task-timeout"]
    )
    client = BatchClient.__new__(BatchClient)
    client.client = boto3.client(
        "batch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    from sezlights import memory

    rule = "compute_zone_stats"
    assert p["set-threads"][rule] == 2  # two archives decompressed at once
    mem = memory.stats_mb(5_000_000)
    job = SimpleNamespace(
        name=rule,
        resources={"_cores": p["set-threads"][rule], **p["set-resources"][rule], "mem_mb": mem},
    )
    command = "python -m snakemake --target-jobs 'compute_zone_stats:month=2019-01'"
    with Stubber(client.client) as stub:
        stub.add_response(
            "register_job_definition",
            {"jobDefinitionName": "d", "jobDefinitionArn": "arn:d", "revision": 3},
            {
                "jobDefinitionName": ANY,
                "type": "container",
                "containerProperties": {
                    "image": IMAGE,
                    "command": ["/bin/bash", "-c", command],
                    "environment": [],  # no value set while parsing travels to jobs
                    "jobRoleArn": ROLE,
                    "privileged": True,
                    "resourceRequirements": [
                        {"type": "VCPU", "value": "2"},
                        {"type": "MEMORY", "value": str(mem)},
                    ],
                },
                "timeout": {"attemptDurationSeconds": p["aws-batch-task-timeout"]},
                "tags": {},
                "platformCapabilities": ["EC2"],
            },
        )
        stub.add_response(
            "submit_job",
            {"jobName": "j", "jobId": "id-1"},
            {"jobName": ANY, "jobQueue": QUEUE, "jobDefinition": "d:3"},
        )
        builder = BatchJobBuilder(
            logger=SimpleNamespace(warning=print, debug=print),
            job=job,
            envvars={},
            container_image=IMAGE,
            settings=settings,
            job_command=command,
            batch_client=client,
        )
        assert builder.submit()["jobId"] == "id-1"
        stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    "installed, applied", [("0.3.0", True), ("0.3.6", True), ("0.4.0", False), ("1.2.0", False)]
)
def test_the_s3_workaround_applies_only_to_the_versions_it_was_checked_with(
    monkeypatch, installed, applied
):
    import importlib.metadata

    from snakemake_storage_plugin_s3 import StorageObject

    monkeypatch.setattr(StorageObject, "is_dir", StorageObject.is_dir)  # put back afterwards
    monkeypatch.setattr(importlib.metadata, "version", lambda name: installed)
    warned: list[str] = []
    smk = REPO / "workflow/rules/storage_s3.smk"
    names = {
        "workflow": SimpleNamespace(
            storage_settings=SimpleNamespace(default_storage_provider="s3"),
        ),
        "logger": SimpleNamespace(warning=warned.append),
    }
    exec(compile(smk.read_text(), str(smk), "exec"), names)
    assert not getattr(StorageObject.is_dir, "rechecks", False)  # nothing while parsing
    names["s3_directories_seen_after_jobs"]()  # when the run starts (onstart)
    assert getattr(StorageObject.is_dir, "rechecks", False) is applied
    if applied:
        assert warned == []
    else:
        assert len(warned) == 1 and f"snakemake-storage-plugin-s3 {installed}: " in warned[0]
        assert "is not applied" in warned[0]


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory):
    srv = S3Server(tmp_path_factory.mktemp("moto") / "moto_server.log")
    yield srv
    srv.stop()


def batch_snakemake(work: Path, s3: S3Server, prefix: str, *args, env=None, check=True):
    """snakemake --profile profiles/aws-batch, with the test's EOG login."""
    extra, env = (
        env,
        {k: v for k, v in os.environ.items() if not k.startswith(("EOG_", "AWS_", "SNAKEMAKE_"))},
    )
    env.update(
        **eog_env(),
        AWS_ACCESS_KEY_ID="test-access-key",
        AWS_SECRET_ACCESS_KEY="test-secret-key",
        AWS_DEFAULT_REGION="us-east-1",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    )
    for k, v in (extra or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--profile",
        "profiles/aws-batch",
        "--configfile",
        "config/test.yaml",
        "--default-storage-prefix",
        f"s3://{prefix}",
        "--storage-s3-endpoint-url",
        s3.url,
        "--aws-batch-job-queue",
        QUEUE,
        "--aws-batch-job-role",
        ROLE,
        "--container-image",
        IMAGE,
        *args,
    ]
    p = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=900)
    if check and p.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-8000:]}"
        )
    return p


def test_dry_run_loads_the_plugin_with_the_profile(eog_server, s3_server, tmp_path):
    s3_server.client.create_bucket(Bucket="sez-dry")
    work = workflow_dir(tmp_path, eog_server)
    p = batch_snakemake(work, s3_server, "sez-dry/run", "--dry-run")
    out = p.stdout + p.stderr
    assert "prepare_zones" in out and "list_month_files" in out
    # a dry run writes nothing here
    assert not (work / "results").exists()

    # without credentials a real run stops before any job, naming what to set
    no_login = {k: None for k in eog_env()}
    p = batch_snakemake(work, s3_server, "sez-dry/run", env=no_login, check=False)
    assert p.returncode != 0
    assert "set EOG_USERNAME, EOG_PASSWORD, EOG_CLIENT_ID and EOG_CLIENT_SECRET" in last_line(p)


def test_run_on_batch_stand_in_matches_laptop_run(eog_server, s3_server, tmp_path):
    """Every non-local job submitted through the plugin and run without a shared disk;
    downloads stay on this machine (download.local: auto), so no credential reaches Batch."""
    tile_server = eog_server
    s3 = s3_server
    s3.client.create_bucket(Bucket="sez-batch")

    ref = workflow_dir(tmp_path / "laptop", tile_server)
    set_months(ref, "2019-04", "2019-04")
    snakemake(ref)

    # the user's zones file is their own: outside the clone and untracked (given relative to
    # it here, so that it is not where the stand-in runs the jobs either: jobs run on this
    # machine). Snakemake ships only what git tracks (below 10 MB) to the jobs, so no Batch
    # job has it: only the main process reads it (prepare_zones is a local job)
    own = tmp_path / "main" / "my-zones" / "sez.gpkg"
    own.parent.mkdir(parents=True)
    gpd.read_file(REPO / "config/zones/demo_zones.geojson").to_file(own)
    zones = {"path": "../my-zones/sez.gpkg"}
    work = workflow_dir(tmp_path / "main", tile_server, mosaic={"keep": True}, zones=zones)
    shutil.rmtree(work / "config/zones")
    set_months(work, "2019-04", "latest")  # a local job finds the month; jobs need not know
    # run from a git work tree, as from a clone: Snakemake ships the files git tracks
    # (plus rules, scripts, envs, config files) to the jobs through the bucket
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    subprocess.run(["git", "add", "-A"], cwd=work, check=True)
    listings_before = _root_listings(tile_server)
    path = os.pathsep.join(
        [str(pip_shim(tmp_path / "shim")), str(Path(sys.executable).parent), "/usr/bin:/bin"]
    )
    role = {"AWS_ACCESS_KEY_ID": "test-access-key", "AWS_SECRET_ACCESS_KEY": "test-secret-key"}
    with FakeBatch(tmp_path / "batch", path, role_env=role) as batch:
        p = batch_snakemake(
            work, s3, "sez-batch/run", "--jobs", "2", env={"AWS_ENDPOINT_URL_BATCH": batch.url}
        )
    out = p.stdout + p.stderr

    # every non-local job went to Batch and succeeded there
    rules = workflow_rules()
    submitted = sorted(
        re.match(r"snakejob-def-(\w+)-", d["jobDefinitionName"])[1]
        for d in batch.definitions.values()
    )
    assert submitted == sorted(
        ["index_zone_pixels", "mosaic_month", "compute_zone_stats"]
        + ["plot_zone_timeseries", "map_zones_latest_month"]
    ), submitted
    assert len(tile_server.file_gets()) == 4 * 2  # the laptop run's and the main process's
    assert all(not rules[r] for r in submitted)
    failed = {
        j: (j_["dir"] / "container.log").read_text()[-2000:]
        for j, j_ in batch.jobs.items()
        if j_["status"] != "SUCCEEDED"
    }
    assert failed == {}

    prof = profile()
    for name, d in batch.definitions.items():
        rule = re.match(r"snakejob-def-(\w+)-", name)[1]
        props = d["containerProperties"]
        assert props["image"] == IMAGE and props["jobRoleArn"] == ROLE
        assert d["timeout"] == {"attemptDurationSeconds": prof["aws-batch-task-timeout"]}
        req = {r["type"]: r["value"] for r in props["resourceRequirements"]}
        assert req["VCPU"] == str(prof["set-threads"][rule]), rule
        assert int(req["VCPU"]) in VALID_RESOURCES_MAPPING[int(req["MEMORY"])], (rule, req)
        assert props["command"][:2] == ["/bin/bash", "-c"]
        words = shlex.split(props["command"][2])
        deploy = words.index("--deploy-sources")  # the workflow's files, from the bucket
        assert words[deploy + 1].startswith("s3://sez-batch/run/snakemake-workflow-sources.")
        assert words[words.index("--target-jobs") + 1].startswith(f"{rule}:")
        assert words[words.index("--default-storage-provider") + 1] == "s3"
        assert words[words.index("--default-storage-prefix") + 1] == "s3://sez-batch/run"
        assert words[words.index("--shared-fs-usage") + 1] == "none"
        env = {e["name"]: e["value"] for e in props["environment"]}
        # nothing was set while the workflow was parsed for the jobs to read: the month
        # (a checkpoint's output) and the zones (a local job's) travel as files
        assert not any(k.startswith("SEZLIGHTS_") for k in env), env
        # no login travels to Batch, and the job role, not the job definition, carries AWS
        # credentials
        assert not any(k.startswith(("EOG_", "EARTHDATA")) for k in env), env
        assert not any("ACCESS_KEY" in k or "SECRET" in k for k in env), env
        assert PASSWORD not in str(d) and CLIENT_SECRET not in str(d)
    for job in batch.jobs.values():
        assert job["request"]["jobQueue"] == QUEUE
        # the zones file never reached a job: the jobs ran without it
        assert not list(job["dir"].rglob("sez.gpkg"))
        # the job unpacked the workflow's files from the bucket; the sezlights package comes
        # installed in the image (here: this virtualenv), not from a PYTHONPATH patch
        assert (job["dir"] / "workflow/Snakefile").exists()
        assert (job["dir"] / "workflow/scripts/compute_zone_stats.py").exists()
    # and first installed the S3 plugin with pip (from PyPI, on AWS)
    pip_calls = (tmp_path / "batch/pip-calls.txt").read_text().splitlines()
    assert len(pip_calls) == len(batch.jobs)
    assert all("snakemake-storage-plugin-s3" in c for c in pip_calls)

    # only the main process asked the server for the latest month
    assert _root_listings(tile_server) == listings_before + 1

    # the results are in the bucket and equal the laptop run's
    for rel in ["results/zonal_stats.csv", "results/stats/eog/2019-04.csv"]:
        assert s3.read("sez-batch", f"run/{rel}") == (ref / rel).read_bytes(), rel
    assert "Nothing to be done" not in out
    p = batch_snakemake(
        work,
        s3,
        "sez-batch/run",
        "--jobs",
        "2",
        env={"AWS_ENDPOINT_URL_BATCH": "http://127.0.0.1:9"},
    )
    assert "Nothing to be done" in p.stdout + p.stderr


def _root_listings(server) -> int:
    return sum(m == "GET" and p.rstrip("/").endswith(SERVER_PATH) for m, p, _ in server.requests)


def test_the_image_installs_the_pipelines_wheel_with_the_cloud_extra():
    docker = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim AS wheel", docker, re.M)
    assert "pip wheel --no-cache-dir --no-deps --wheel-dir /wheels ." in docker
    run = re.search(r'pip install [^\n]*"\$\(ls /wheels/sezlights-\*\.whl\)\[(\w+)\]"', docker)
    assert run, "the image must install the wheel built from pyproject.toml"
    extra = run[1]
    assert "COPY src" in docker and "standin" not in re.sub(r"#.*", "", docker)
    pyproject = (REPO / "pyproject.toml").read_text()
    extras = re.search(rf"^{extra} = \[([^\]]*)\]", pyproject, re.M)[1]
    assert (
        "snakemake-storage-plugin-s3" in extras and "snakemake-executor-plugin-aws-batch" in extras
    )
    # make setup's extra includes the image's
    assert re.search(rf'"sezlights\[([\w,]*,)?{extra}(,[\w,]*)?\]"', pyproject)
    assert f"[{extra}]" in (REPO / "profiles/README.md").read_text()


def test_the_wheel_holds_the_pipeline_only(tmp_path):
    """pip wheel from pyproject.toml (what the image installs): the sezlights package and
    the console, and no stand-in, no demo."""
    import zipfile

    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "--wheel-dir", str(tmp_path), str(REPO)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("sezlights-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"sezlights", "snakemake_logger_plugin_sezlights"}, tops
    assert not [n for n in names if "standin" in n or n.endswith("demo.py")]
    assert "sezlights/sources/blackmarble.py" in names
