"""A stand-in for conda, for running ``snakemake --sdm conda`` where conda is not installed.

Snakemake's own code deploys each job environment as with conda: it copies the
environment file into the conda prefix, runs ``conda env create --file <copy> --prefix
<env>``, then the environment's post-deploy script inside it (``source <conda>/bin/activate
<env>``), and runs the jobs inside it the same way. What this ``conda`` does instead of
solving and downloading packages: each environment is a virtualenv that sees this test
environment's packages (not its editable ``sezlights``: a folder a ``.pth`` file adds is
not searched for ``.pth`` files), so that a job imports sezlights only if the post-deploy
script installed it; a listed package this environment lacks at the version asked is
installed from the package index. It refuses a ``pip:`` section, which conda would run
from the copied file's folder (the conda prefix). Every environment made is listed in
``<root>/created.jsonl``.

``install(root)`` makes ``<root>/bin/conda`` (this file, run as a script) and
``<root>/bin/activate``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

PIP_NAMES = {
    "python-isal": "isal",
    "matplotlib-base": "matplotlib",
    "geopandas-base": "geopandas",
    "pyyaml": "PyYAML",
}

ACTIVATE = """# sourced as: source <root>/bin/activate <env>
export CONDA_PREFIX="$1"
export PATH="$1/bin:$PATH"
"""


def install(root: Path) -> Path:
    """A fake conda installation at ``root``; returns its ``bin`` folder (put it on PATH)."""
    bin_dir = root / "bin"
    bin_dir.mkdir(parents=True)
    conda = bin_dir / "conda"
    conda.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{__file__}" "{root}" "$@"\n')
    conda.chmod(0o755)
    (bin_dir / "activate").write_text(ACTIVATE)
    return bin_dir


def created(root: Path) -> list[dict]:
    path = root / "created.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line) for line in lines]


def as_pip(dep: str) -> str | None:
    """A conda spec (``rasterio >=1.4``, ``itables =2.9``) as a pip requirement (None: python)."""
    name, _, version = dep.partition(" ")
    if name == "python":
        return None
    version = version.replace(" ", "")
    if version.startswith("=") and not version.startswith("=="):
        version = "==" + version[1:] + ".*"
    return PIP_NAMES.get(name, name) + version


def have(req: str) -> bool:
    """Whether this environment has ``req`` at a version it allows."""
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import Requirement

    r = Requirement(req)
    try:
        return r.specifier.contains(version(r.name), prereleases=True)
    except PackageNotFoundError:
        return False


def create(root: Path, env_file: str, prefix: str) -> None:
    import yaml

    spec = yaml.safe_load(Path(env_file).read_text())
    if any(isinstance(d, dict) for d in spec.get("dependencies", [])):
        sys.exit(
            f"fake conda: {env_file} has a pip section; conda would run it from "
            f"{Path(env_file).parent}, the conda prefix"
        )
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", prefix], check=True)
    python = Path(prefix, "bin/python")
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    Path(site, "_fake_conda.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    lacking = [r for r in map(as_pip, spec["dependencies"]) if r and not have(r)]
    if lacking:  # what this environment has not, at the version asked: from the index
        pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
        subprocess.run(pip + lacking, check=True)
    with open(root / "created.jsonl", "a") as f:
        f.write(json.dumps({"file": env_file, "prefix": prefix, "spec": spec}) + "\n")


def main(root: Path, args: list[str]) -> None:
    if args == ["info", "--json"]:
        print(json.dumps({"conda_prefix": str(root), "platform": "linux-64"}))
    elif args == ["--version"]:
        print("conda 24.11.3")
    elif args[:3] == ["config", "--get", "channel_priority"]:
        print(json.dumps({"get": {"channel_priority": "strict"}}))
    elif args[:2] == ["env", "create"]:

        def opt(name):
            return args[args.index(name) + 1].strip('"')

        create(root, opt("--file"), opt("--prefix"))
    elif args[:1] == ["clean"]:
        pass  # no package cache to clean
    else:
        sys.exit(f"fake conda: unsupported command {args}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
