# syntax=docker/dockerfile:1
# One image recipe for every service, built from the repository root:
#   docker build --build-arg SERVICE=integration-service --build-arg PORT=8082 -t integration-service .
# SERVICE is the workspace member under services/; PACKAGE (the module run by `python -m`) defaults
# to SERVICE with dashes turned into underscores; PORT is the port the image defaults to and
# probes. Known services: auth-service 8081, integration-service 8082, template-service 8083,
# tool-service 8084. No secret is baked in: every setting comes from the environment at run time.

ARG PYTHON_IMAGE=python:3.11-slim
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

FROM ${PYTHON_IMAGE} AS build
ARG SERVICE=auth-service
ARG PACKAGE=
COPY --from=uv /uv /usr/local/bin/uv
WORKDIR /src
# uv resolves the workspace as a whole, so every member's project file must be present even
# though only SERVICE and the members it depends on end up in the image.
COPY pyproject.toml uv.lock ./
COPY shared shared
COPY integrations integrations
COPY services services
COPY deploy/local/pyproject.toml deploy/local/pyproject.toml
COPY deploy/local/src deploy/local/src
COPY clients/python/pyproject.toml clients/python/pyproject.toml
# The export pins exactly what uv.lock holds for SERVICE (hashes checked on install), and
# --no-editable lists its workspace dependencies (shared, integrations) as plain paths, so the
# lock rather than this file decides which of them the service needs. --no-deps keeps the
# installer from resolving anything the lock did not. Bytecode is compiled here because the
# runtime filesystem is read-only.
RUN --mount=type=cache,target=/root/.cache/uv \
    set -eu; \
    test -f "services/${SERVICE}/pyproject.toml" \
      || { echo "no workspace member services/${SERVICE}" >&2; exit 1; }; \
    package="${PACKAGE:-$(printf '%s' "${SERVICE}" | tr '-' '_')}"; \
    uv export --quiet --frozen --no-dev --no-editable --no-header --package "${SERVICE}" \
      -o requirements.txt; \
    python -m venv --without-pip /venv; \
    UV_LINK_MODE=copy uv pip install --python /venv/bin/python --no-deps --compile-bytecode \
      -r requirements.txt; \
    /venv/bin/python -c "import importlib.util as u, sys; u.find_spec(sys.argv[1] + '.__main__') or sys.exit('no module ' + sys.argv[1] + '.__main__')" "${package}"; \
    printf '#!/bin/sh\nexec python -m %s "$@"\n' "${package}" > /venv/bin/run-service; \
    chmod 0755 /venv/bin/run-service

FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE=auth-service
ARG PORT=8081
LABEL org.opencontainers.image.title="${SERVICE}" \
      org.opencontainers.image.description="integrations platform: ${SERVICE}"
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin app
COPY --from=build /venv /venv
# PYTHONDONTWRITEBYTECODE: the root filesystem is mounted read-only in Kubernetes, and the
# bytecode was compiled at build time anyway. PYTHONSAFEPATH: `python -m` would otherwise put the
# working directory first on sys.path, where a writable directory could shadow the service's code.
ENV PATH=/venv/bin:$PATH \
    HOST=0.0.0.0 \
    PORT=${PORT} \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONSAFEPATH=1
# Numeric, so the kubelet can verify runAsNonRoot without reading /etc/passwd.
USER 10001:10001
EXPOSE ${PORT}
# Reads PORT when it runs, so an image started with another PORT still probes the right one;
# urlopen raises on the 503 that /readyz answers while MongoDB or RabbitMQ is unreachable.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=5 \
  CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/readyz' % os.environ['PORT'], timeout=2)"]
# The launcher execs python, so the service itself is PID 1 and receives SIGTERM.
CMD ["run-service"]
