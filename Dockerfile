# syntax=docker/dockerfile:1
# The one tipsml image: the tip-scorer and tip-generator predictors, the ingest consumers, the kopf operator and
# the KFP components all run on it, each with its own command (see charts/tipsml and pipelines/).
#
#   docker build -t tipsml/tipsml:0.1.0 .
#
# PYTHON_IMAGE may be any Debian bookworm image with python3 3.11 and its venv module: without a registry,
# scripts/images.sh builds one from Debian's packages and passes it here.
#
# Dependencies are installed with the pinned constraints.txt, so the image resolves exactly what CI tested.
# Bytecode is compiled for both plain and optimized (-O) runs: the chart runs the project's own processes with
# PYTHONOPTIMIZE=1 (see charts/tipsml/templates/_helpers.tpl), and PYTHONDONTWRITEBYTECODE keeps a Pod from
# writing any at start.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_VERSION=0.13.9

FROM ${PYTHON_IMAGE} AS deps
ARG UV_VERSION
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    UV_PYTHON_DOWNLOADS=never
# uv in a venv of its own (Debian's python3 refuses system-wide pip installs); only /opt/tipsml is shipped.
RUN python3 -m venv /opt/uv \
    && /opt/uv/bin/pip install "uv==${UV_VERSION}" \
    && python3 -m venv /opt/tipsml
WORKDIR /src
# Dependencies first, in their own layer: they change far less often than the code.
COPY pyproject.toml constraints.txt ./
RUN python3 -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
    > /tmp/requirements.txt \
    && /opt/uv/bin/uv pip install --python /opt/tipsml/bin/python -c constraints.txt -r /tmp/requirements.txt \
    && /opt/tipsml/bin/python -O -m compileall -q -j 0 /opt/tipsml/lib

FROM deps AS project
COPY README.md ./
COPY contracts ./contracts
COPY streams ./streams
COPY feature_repo ./feature_repo
COPY predictors ./predictors
COPY experiments ./experiments
COPY operators ./operators
COPY pipelines ./pipelines
COPY tipsml ./tipsml
# The project alone, under a prefix of its own: the runtime copies it over the dependencies' layer, so a change
# of code rebuilds a few megabytes instead of the whole environment.
RUN /opt/uv/bin/uv pip install --python /opt/tipsml/bin/python --prefix /opt/project -c constraints.txt --no-deps . \
    && /opt/tipsml/bin/python -O -m compileall -q /opt/project

FROM ${PYTHON_IMAGE} AS runtime
# libgomp1: LightGBM's OpenMP runtime. Nothing else is added to the slim base.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 tipsml \
    && useradd --system --uid 10001 --gid tipsml --home-dir /tmp --no-create-home --shell /usr/sbin/nologin tipsml
COPY --from=deps /opt/tipsml /opt/tipsml
COPY --from=project /opt/project/ /opt/tipsml/
ENV PATH=/opt/tipsml/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    MLFLOW_DISABLE_TELEMETRY=true \
    LITELLM_LOCAL_MODEL_COST_MAP=True
# Run from an empty, read-only working directory: local state (.tipsml/) is never written into the image.
WORKDIR /app
USER 10001:10001
# Each deployable sets its own command, e.g. `python -m predictors.scorer`, `python -m streams`,
# `kopf run --module=operators.handlers ...`; the default shows the CLI.
CMD ["tipsml", "--help"]
