"""Run the demo end to end: synthetic tiles, a local tile server, the real workflow.

``python -m sezlights.demo`` (what ``make demo`` runs) writes synthetic tiles for
2019-01..2019-04 in the real EOG layout under ``demo-data/``, serves them on
127.0.0.1:8765 behind a login, runs ``snakemake --profile profiles/laptop
--configfile config/demo.yaml`` and stops the server again. Extra arguments are
passed to snakemake (e.g. ``--config months='{start: 2019-01, end: 2019-04}'``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from . import synthetic
from .devserver import TileServer

SERVER_MONTHS = ("2019-01", "2019-04")
DEMO_USER, DEMO_PASSWORD, DEMO_TOKEN = "demo", "demo-password", "demo-token-not-a-secret"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    repo = Path.cwd()
    cfg = yaml.safe_load((repo / "config/demo.yaml").read_text())
    base = urlsplit(cfg["source"]["base_url"])
    pixel_arcsec = cfg["source"]["pixel_arcsec"]
    root = repo / "demo-data" / "server"
    tree = root / base.path.strip("/")
    t0 = time.time()
    paths = synthetic.make_tree(tree, *SERVER_MONTHS, pixel_arcsec=pixel_arcsec)
    print(f"demo: {len(paths)} synthetic tile archives under {tree} ({time.time() - t0:.1f}s)")
    server = TileServer(
        root, base.port, token=DEMO_TOKEN, username=DEMO_USER, password=DEMO_PASSWORD
    )
    env = dict(os.environ, EOG_USERNAME=DEMO_USER, EOG_PASSWORD=DEMO_PASSWORD)
    env.pop("EOG_TOKEN", None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--profile",
        "profiles/laptop",
        "--configfile",
        "config/demo.yaml",
        *argv,
    ]
    print(f"demo: tile server at {server.url}; running: {' '.join(cmd[1:])}", flush=True)
    report = repo / "results" / "report.html"
    with server:
        t0 = time.time()
        rc = subprocess.call(cmd, env=env)
        took = time.time() - t0
        if rc == 0:
            rc = subprocess.call(
                [
                    sys.executable,
                    "-m",
                    "snakemake",
                    "--configfile",
                    "config/demo.yaml",
                    "--report",
                    str(report),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
            )
    tgz = len(server.file_gets())
    if rc != 0:
        print(
            f"demo: snakemake failed (exit {rc}); see the messages above and logs/.",
            file=sys.stderr,
        )
        return rc
    table = repo / "results" / "zonal_stats.csv"
    print(f"demo: done in {took:.1f}s, {tgz} tile downloads.")
    print(f"demo: the time-series table is {table}")
    print(f"demo: the run report is {report} (open it in a browser)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
