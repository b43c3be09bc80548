# syntax=docker/dockerfile:1
# The one tipsml image: the tip-scorer and tip-generator predictors, the ingest consumers, the kopf operator and
# the KFP components all run on it, each with its own command (see charts/tipsml and pipelines/).
#
#   docker build -t tipsml/tipsml:0.1.0 .
#
# Dependencies are installed with the pinned constraints.txt, so the image resolves exactly what CI tested.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_VERSION=0.13.9

FROM ${PYTHON_IMAGE} AS build
ARG UV_VERSION
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    UV_PYTHON_DOWNLOADS=never
RUN python -m pip install "uv==${UV_VERSION}" \
    && python -m venv /opt/tipsml
WORKDIR /src
# Dependencies first, in their own layer: they change far less often than the code.
COPY pyproject.toml constraints.txt README.md ./
RUN python - <<'PY' > /tmp/requirements.txt
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))
PY
RUN uv pip install --python /opt/tipsml/bin/python -c constraints.txt -r /tmp/requirements.txt
COPY contracts ./contracts
COPY streams ./streams
COPY feature_repo ./feature_repo
COPY predictors ./predictors
COPY experiments ./experiments
COPY operators ./operators
COPY pipelines ./pipelines
COPY tipsml ./tipsml
RUN uv pip install --python /opt/tipsml/bin/python -c constraints.txt --no-deps .

FROM ${PYTHON_IMAGE} AS runtime
# libgomp1: LightGBM's OpenMP runtime. Nothing else is added to the slim base.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 tipsml \
    && useradd --system --uid 10001 --gid tipsml --home-dir /tmp --no-create-home --shell /usr/sbin/nologin tipsml
COPY --from=build /opt/tipsml /opt/tipsml
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
