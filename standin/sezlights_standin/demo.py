"""Run the demo end to end: synthetic files, local stand-ins of EOG, NASA's Earthdata
Cloud and the World Bank's Light Every Night bucket, the real workflow.

``python -m sezlights_standin.demo`` (what ``make demo`` runs) writes synthetic files for
2019-01..2019-04 in the real layouts under ``demo-data/`` (EOG's monthly tiles; NASA's
Black Marble VNP46A3 and VJ146A3 tiles), serves them on 127.0.0.1 (EOG on 8765, behind
its Keycloak login with 5-minute tokens; CMR and the LAADS cloud host on 8766, behind an
Earthdata token, files from signed URLs; the Light Every Night bucket on 8767, anonymous
S3, its Cloud-Optimized GeoTIFFs read by window), runs ``snakemake --profile
profiles/laptop --configfile config/demo.yaml`` (the three sources into one table),
builds the report, and
stops the servers. Extra arguments go to snakemake (e.g. ``--config
months='{start: 2019-01, end: 2019-04}'``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from . import blackmarble_tiles, eog_tiles, lighteverynight
from .earthdata import EarthdataServer
from .eog import EOGServer
from .s3bucket import S3BucketServer

SERVER_MONTHS = ("2019-01", "2019-04")
# the stand-ins' demo account: not secrets, and never written to a file by the run
DEMO = {
    "EOG_USERNAME": "demo",
    "EOG_PASSWORD": "demo-password",
    "EOG_CLIENT_ID": "demo-scripts",
    "EOG_CLIENT_SECRET": "demo-client-secret",
}
BM_TILES = ["h21v08", "h21v09", "h24v06", "h20v12", "h08v07", "h22v08", "h23v06", "h24v07"]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    repo = Path.cwd()
    cfg = yaml.safe_load((repo / "config/demo.yaml").read_text())
    eog_url = urlsplit(cfg["eog"]["base_url"])
    cloud_url = urlsplit(cfg["blackmarble"]["cloud_url"])
    data = repo / "demo-data"
    t0 = time.time()
    tree = data / "eog" / eog_url.path.strip("/")
    arcs = eog_tiles.make_tree(tree, *SERVER_MONTHS, pixel_arcsec=cfg["eog"]["pixel_arcsec"])
    h5 = blackmarble_tiles.make_tree(
        data / "laads",
        *SERVER_MONTHS,
        cfg["blackmarble"]["pixel_arcsec"],
        tiles=BM_TILES,
        products=cfg["blackmarble"]["products"],
    )
    len_cfg = cfg["len"]
    cogs = [
        p
        for m in range(int(SERVER_MONTHS[0][5:]), int(SERVER_MONTHS[1][5:]) + 1)
        for p in lighteverynight.write_layers(
            data / "len",
            f"{SERVER_MONTHS[0][:4]}-{m:02d}",
            len_cfg.get("stray_light", "slexcl"),
            len_cfg["pixel_arcsec"] / 3600,
        )
    ]
    print(
        f"demo: {len(arcs)} EOG archives, {len(h5)} Black Marble files and {len(cogs)} Light "
        f"Every Night COGs under {data} ({time.time() - t0:.1f}s)"
    )
    eog = EOGServer(
        data / "eog",
        eog_url.port,
        users={DEMO["EOG_USERNAME"]: DEMO["EOG_PASSWORD"]},
        clients={DEMO["EOG_CLIENT_ID"]: DEMO["EOG_CLIENT_SECRET"]},
    )
    laads = EarthdataServer(data / "laads", cloud_url.port)
    bucket = S3BucketServer(data / "len", port=urlsplit(len_cfg["base_url"]).port)
    env = dict(os.environ, **DEMO, EARTHDATA_TOKEN=laads.add_user("demo"))
    env.pop("EOG_TOKEN", None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    run = [sys.executable, "-m", "snakemake", "--profile", "profiles/laptop"]
    # the console's closing lines say where the report will be (built below), not the
    # command that builds it
    run += ["--configfile", "config/demo.yaml", "--logger-sezlights-report-next", "the demo"]
    run += argv
    report = repo / "results" / "report.html"
    print(
        f"demo: EOG at {eog.url}, CMR and the LAADS cloud host at {laads.url}, the Light "
        f"Every Night bucket at {bucket.url}; running: "
        f"{' '.join(run[1:])}",
        flush=True,
    )
    with eog, laads, bucket:
        t0 = time.time()
        rc = subprocess.call(run, env=env)
        took = time.time() - t0
        if rc == 0:
            rc = subprocess.call(
                [sys.executable, "-m", "snakemake", "--configfile", "config/demo.yaml", *argv]
                + ["--report", str(report)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if rc != 0:
                print("demo: the report could not be built; see .snakemake/log/", file=sys.stderr)
    if rc != 0:
        print(f"demo: the run failed (exit {rc}); the reason is the line above.", file=sys.stderr)
        return rc
    sent = ", ".join(
        f"{name} {srv.bytes_sent / 1e6:.1f} MB"
        for name, srv in (("EOG", eog), ("LAADS", laads), ("Light Every Night", bucket))
    )
    print(f"demo: pipeline {took:.1f}s; bytes the servers sent: {sent}.", flush=True)
    print(f"demo: done; the report is built: open {report} in a browser", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
