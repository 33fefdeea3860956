"""A local stand-in for the AWS Batch API, for tests/test_aws_batch.py.

Answers the five calls snakemake-executor-plugin-aws-batch makes (RegisterJobDefinition,
SubmitJob, DescribeJobs, TerminateJob, DeregisterJobDefinition; AWS's rest-json
protocol, requests are not authenticated) on 127.0.0.1. Point boto3 at it with
``AWS_ENDPOINT_URL_BATCH``.

A submitted job runs its job definition's container ``command`` with the job
definition's ``environment`` in a new, empty directory, as a container would: it
shares no files with the process that submitted it. What it is *not*: Docker (the
"image" is this machine's Python environment, given as ``path``), IAM, EC2, queues
or scheduling. Every job definition and job is kept for the test to inspect.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REGION, ACCOUNT = "us-east-1", "123456789012"


class FakeBatch(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, workdir: Path, path: str, role_env: dict | None = None, max_running=2):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.workdir = Path(workdir)
        self.path = path  # PATH inside the "container"
        # what the job role gives a real container (AWS credentials), not in the job definition
        self.role_env = dict(role_env or {})
        self.definitions: dict[str, dict] = {}  # "name:revision" -> RegisterJobDefinition request
        self.jobs: dict[str, dict] = {}  # jobId -> job (request, status, exit code, directory)
        self.calls: list[str] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(max_running)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self):
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()

    # the API -----------------------------------------------------------------

    def call(self, op: str, body: dict) -> tuple[int, dict]:
        with self._lock:
            self.calls.append(op)
        if op == "registerjobdefinition":
            name = body["jobDefinitionName"]
            with self._lock:
                revision = 1 + sum(k.startswith(f"{name}:") for k in self.definitions)
                self.definitions[f"{name}:{revision}"] = body
            arn = f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/{name}:{revision}"
            return 200, {"jobDefinitionName": name, "jobDefinitionArn": arn, "revision": revision}
        if op == "submitjob":
            definition = self.definitions.get(body["jobDefinition"])
            if definition is None:
                return 400, {"__type": "ClientException", "message": "no such job definition"}
            job_id = f"job-{next(self._ids):04d}"
            job = {
                "request": body,
                "definition": body["jobDefinition"],
                "status": "RUNNABLE",
                "exitCode": None,
                "dir": self.workdir / job_id,
            }
            with self._lock:
                self.jobs[job_id] = job
            threading.Thread(target=self._run, args=(job_id,), daemon=True).start()
            return 200, {"jobName": body["jobName"], "jobId": job_id}
        if op == "describejobs":
            out = []
            with self._lock:
                for job_id in body.get("jobs", []):
                    job = self.jobs.get(job_id)
                    if job is None:
                        continue
                    desc = {
                        "jobId": job_id,
                        "jobName": job["request"]["jobName"],
                        "jobQueue": job["request"]["jobQueue"],
                        "status": job["status"],
                        "jobDefinition": job["definition"],
                        "startedAt": 0,
                        "container": {},
                    }
                    if job["exitCode"] is not None:
                        desc["container"]["exitCode"] = job["exitCode"]
                    if job["status"] == "FAILED":
                        desc["statusReason"] = "Essential container in task exited"
                    out.append(desc)
            return 200, {"jobs": out}
        if op in ("terminatejob", "deregisterjobdefinition"):
            return 200, {}
        return 400, {"__type": "ClientException", "message": f"unsupported operation {op}"}

    def _run(self, job_id: str) -> None:
        job = self.jobs[job_id]
        props = self.definitions[job["definition"]]["containerProperties"]
        env = {"PATH": self.path, "HOME": str(job["dir"]), "LANG": "C.UTF-8", **self.role_env}
        env.update({e["name"]: e["value"] for e in props.get("environment", [])})
        with self._slots:
            job["dir"].mkdir(parents=True)
            with self._lock:
                job["status"] = "RUNNING"
            with open(job["dir"] / "container.log", "w") as out:
                rc = subprocess.call(
                    props["command"], cwd=job["dir"], env=env, stdout=out, stderr=subprocess.STDOUT
                )
        with self._lock:
            job["exitCode"] = rc
            job["status"] = "SUCCEEDED" if rc == 0 else "FAILED"


class _Handler(BaseHTTPRequestHandler):
    server: FakeBatch

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        op = self.path.rstrip("/").rsplit("/", 1)[-1]
        status, payload = self.server.call(op, body)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status != 200:
            self.send_header("x-amzn-ErrorType", payload["__type"])
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def pip_shim(directory: Path) -> Path:
    """A ``pip`` that records its arguments and installs nothing.

    Every job first runs ``pip install --target .snakemake/pip-deployments
    snakemake-storage-plugin-s3`` (Snakemake deploys the storage plugin into the
    job): on AWS that needs PyPI from the container; here the plugin is already
    installed, as it is in the image built from the Dockerfile.
    """
    directory.mkdir(parents=True, exist_ok=True)
    shim = directory / "pip"
    shim.write_text('#!/bin/sh\necho "$*" >> "$HOME/../pip-calls.txt"\n')
    shim.chmod(0o755)
    return directory
