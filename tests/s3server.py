"""A real S3-compatible server for the tests: moto's ``moto_server`` in its own process."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3


class S3Server:
    """``moto_server`` in a subprocess, on a free port of 127.0.0.1."""

    def __init__(self, log: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        exe = Path(sys.executable).with_name("moto_server")
        self._log = open(log, "w")
        self.proc = subprocess.Popen(
            [str(exe), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited ({self.proc.returncode}); see {log}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if time.time() > deadline:
                    self.stop()
                    raise RuntimeError(f"moto_server did not listen on {self.url}") from None
                time.sleep(0.1)
        self.client = boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="test-access-key",
            aws_secret_access_key="test-secret-key",
        )

    def storage_args(self, bucket: str, prefix: str) -> list[str]:
        return [
            "--default-storage-provider",
            "s3",
            "--default-storage-prefix",
            f"s3://{bucket}/{prefix}",
            "--storage-s3-endpoint-url",
            self.url,
            "--storage-s3-access-key",
            "test-access-key",
            "--storage-s3-secret-key",
            "test-secret-key",
        ]

    def objects(self, bucket: str, prefix: str) -> dict[str, tuple]:
        """Key (relative to ``prefix``) -> (ETag, LastModified) of every object under it."""
        out = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=f"{prefix}/"
        ):
            for o in page.get("Contents", []):
                out[o["Key"][len(prefix) + 1 :]] = (o["ETag"], o["LastModified"])
        return out

    def read(self, bucket: str, key: str) -> bytes:
        return self.client.get_object(Bucket=bucket, Key=key)["Body"].read()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()
