# The image AWS Batch runs each job in (profiles/aws-batch, profiles/README.md).
# Snakemake starts every job here as `python -m snakemake ...` in /work, after
# unpacking the workflow's files (what git tracks) from the run's S3 prefix. The
# image provides Python, the dependencies and the sezlights package itself (jobs
# import it from here), installed from the wheel pyproject.toml builds: the pipeline
# only, never the test stand-ins or the demo (standin/). Rebuild it when
# pyproject.toml or src/ changes.
FROM python:3.11-slim AS wheel
WORKDIR /build
COPY pyproject.toml ./
COPY src ./src
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1
COPY --from=wheel /wheels /wheels
# the wheel with the cloud extra (S3 storage, the Batch executor); rasterio and pyogrio
# wheels carry GDAL, so no system packages are needed
RUN python -m pip install --no-cache-dir "$(ls /wheels/sezlights-*.whl)[aws]" \
    && rm -rf /wheels
WORKDIR /work
