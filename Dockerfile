# The image AWS Batch runs each job in (profiles/aws-batch, profiles/README.md).
# Snakemake starts every job here as `python -m snakemake ...` in /work, after
# unpacking the workflow's files (what git tracks) from the run's S3 prefix. The
# image provides Python, the dependencies and the sezlights package itself (jobs
# import it from here): rebuild it when pyproject.toml or src/ changes.
FROM python:3.11-slim

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1
WORKDIR /opt/sezlights
COPY pyproject.toml ./
COPY src ./src
# the README's install (make setup), with the cloud extra instead of the dev tools;
# rasterio and pyogrio wheels carry GDAL, so no system packages are needed
RUN python -m pip install --no-cache-dir -e '.[aws]'

WORKDIR /work
