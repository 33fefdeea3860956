#!/usr/bin/env bash
# Installs the workflow's own package, sezlights, into the job environment Snakemake has
# just made (--sdm conda), from the checkout the workflow runs from. Every environment's
# post-deploy script (workflow/envs/<env>.post-deploy.sh) runs this: Snakemake copies an
# environment file and its post-deploy script into the conda prefix, so no path relative
# to them would find the checkout; workflow/rules/common.smk sets SEZLIGHTS_SOURCE to it
# (standalone, as a module of another workflow, with any --conda-prefix). No
# dependencies (--no-deps): everything else comes from the environment file.
set -euo pipefail
if [ ! -f "${SEZLIGHTS_SOURCE:-}/pyproject.toml" ]; then
    echo "SEZLIGHTS_SOURCE=${SEZLIGHTS_SOURCE:-} is not the sezlights checkout (run Snakemake" \
        "on this workflow from a local path)" >&2
    exit 1
fi
python -m pip install --no-deps --no-build-isolation --no-input --quiet -e "$SEZLIGHTS_SOURCE"
