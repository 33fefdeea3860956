# The image AWS Batch runs each job in (profiles/aws-batch, profiles/README.md).
# Snakemake starts every job here as `python -m snakemake ...` in /work, after
# fetching the workflow's files from the S3 prefix; the code it imports is the
# sezlights package installed below, so build the image from the same commit you run.
FROM python:3.11-slim

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1
WORKDIR /opt/sezlights
COPY pyproject.toml README.md ./
COPY src ./src
# the README's install (make setup), with the cloud extra instead of the dev tools:
# rasterio and pyogrio wheels carry GDAL, so no system packages are needed
RUN python -m pip install --no-cache-dir -e '.[aws]'

WORKDIR /work
