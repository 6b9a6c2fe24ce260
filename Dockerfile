# syntax=docker/dockerfile:1.7
# costdb images. Two targets:
#   db     PostgreSQL 17 + pgvector 0.8, with costdb's first-boot scripts (initdb/)
#   tools  costdb's Python tools, non-root: `costdb migrate` (default) and the health server
#
# Moving to PostgreSQL 18: use a pgvector/pgvector:*-pg18-* tag and mount the volume at
# /var/lib/postgresql instead of /var/lib/postgresql/data (PostgreSQL 18 images keep the
# data under /var/lib/postgresql/18/docker). An existing 17 volume needs pg_upgrade (or a
# dump and restore) first: a new major version cannot start on an old data directory.

ARG PGVECTOR_IMAGE=pgvector/pgvector:0.8.1-pg17-bookworm
ARG PYTHON_IMAGE=python:3.12-slim-bookworm

# --- wheel: build costdb once, install it in the tools image without the sources -----------
FROM ${PYTHON_IMAGE} AS wheel
WORKDIR /src
RUN pip install --no-cache-dir build==1.2.2.post1
COPY pyproject.toml README.md ./
COPY src ./src
COPY healthcheck ./healthcheck
COPY migrations ./migrations
COPY initdb ./initdb
RUN python -m build --wheel --outdir /dist

# --- db ----------------------------------------------------------------------------------
FROM ${PGVECTOR_IMAGE} AS db
LABEL org.opencontainers.image.title="costdb-db" \
      org.opencontainers.image.description="PostgreSQL 17 + pgvector with costdb's first-boot scripts" \
      org.opencontainers.image.source="https://example.invalid/costdb" \
      org.opencontainers.image.licenses="MIT"
COPY --chmod=0755 initdb/ /docker-entrypoint-initdb.d/
# PostgreSQL's "fast" shutdown: roll back open transactions, then stop cleanly.
STOPSIGNAL SIGINT
# Over TCP to 127.0.0.1: while the entrypoint runs the init scripts, its temporary server
# listens on the Unix socket only, so this cannot report ready before the scripts are done.
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --start-interval=1s --retries=5 \
  CMD ["pg_isready", "--host=127.0.0.1", "--port=5432", "--quiet"]

# --- tools -------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS tools
LABEL org.opencontainers.image.title="costdb-tools" \
      org.opencontainers.image.description="costdb migrate (sidecar) and the costdb health server" \
      org.opencontainers.image.source="https://example.invalid/costdb" \
      org.opencontainers.image.licenses="MIT"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin costdb
RUN --mount=type=bind,from=wheel,source=/dist,target=/dist \
    pip install --no-cache-dir /dist/*.whl
USER 10001:10001
EXPOSE 8080
# The health server's own readiness; `migrate` containers disable it (docker-compose.yml).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --start-interval=1s --retries=3 \
  CMD ["python", "-m", "healthcheck.http_check", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["costdb"]
CMD ["migrate"]
