#!/usr/bin/env bash
# Snakemake runs this in the job environment it has just made (--sdm conda; the
# environment file beside this one lists what those jobs import): the workflow's own
# package goes in by the script every environment shares.
exec bash "${SEZLIGHTS_SOURCE:?is not set: run Snakemake on this workflow from a local path}/workflow/envs/install-sezlights.sh"
