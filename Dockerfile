# costdb images. Two targets:
#   db     PostgreSQL 17 + pgvector that brings its own schema: first-boot scripts (initdb/),
#          `costdb migrate` on every start (docker/db-entrypoint.sh), and the Python probe as
#          its HEALTHCHECK, so "healthy" means "schema at head, every table and index valid"
#   tools  costdb's Python tools alone, non-root: `costdb migrate` (a Kubernetes init container
#          or Job) and the health server
#
# Moving to PostgreSQL 18: use a pgvector/pgvector:*-pg18-* tag and mount the volume at
# /var/lib/postgresql instead of /var/lib/postgresql/data (PostgreSQL 18 images keep the
# data under /var/lib/postgresql/18/docker). An existing 17 volume needs pg_upgrade (or a
# dump and restore) first: a new major version cannot start on an old data directory.

# pgvector 0.8.6: the 0.8.x line's HNSW fixes (0.8.2 parallel-build overflow, 0.8.3 and 0.8.4
# vacuum corruption and graph repair). The probe warns about older extensions.
ARG PGVECTOR_IMAGE=pgvector/pgvector:0.8.6-pg17-bookworm
ARG PYTHON_IMAGE=python:3.12-slim-bookworm

# --- wheel: build costdb once; both targets install it without the sources ------------------
FROM ${PYTHON_IMAGE} AS wheel
WORKDIR /src
RUN pip install --no-cache-dir hatchling==1.27.0
COPY pyproject.toml README.md ./
COPY src ./src
COPY healthcheck ./healthcheck
COPY migrations ./migrations
COPY initdb ./initdb
RUN python -m hatchling build --target wheel --directory /dist

# --- db-python: costdb in a virtualenv on the db image's own Python (same base: same ABI) --
FROM ${PGVECTOR_IMAGE} AS db-python
# Debian's python3 follows the base image's release: a pinned version breaks at its next point
# release, and the base image itself is what is pinned.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY requirements.lock /tmp/requirements.lock
# Byte-code compiled once here, keyed by the sources' hashes (no build time in it, so the layer
# is reproducible) and never re-checked: the image's Python files do not change, and every
# process (the entrypoint's migration, the HEALTHCHECK every 10 s) would otherwise compile its
# modules from source again (PYTHONDONTWRITEBYTECODE: nothing is written at run time).
RUN --mount=type=bind,from=wheel,source=/dist,target=/dist \
    python3 -m venv /opt/costdb \
 && /opt/costdb/bin/pip install --no-cache-dir --disable-pip-version-check \
      --require-hashes --only-binary=:all: -r /tmp/requirements.lock \
 && /opt/costdb/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps /dist/*.whl \
 && /opt/costdb/bin/pip uninstall --yes --quiet pip \
 && find /opt/costdb -name '__pycache__' -prune -exec rm -rf {} + \
 && /opt/costdb/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash \
      /opt/costdb/lib
# The SBOM of that environment (cyclonedx-py, pinned with hashes, in a throwaway virtualenv);
# the db stage adds its Debian packages.
RUN --mount=type=bind,source=docker/sbom,target=/sbom \
    mkdir /opt/costdb-sbom \
 && python3 -m venv /tmp/sbom-tool \
 && /tmp/sbom-tool/bin/pip install --no-cache-dir --disable-pip-version-check --quiet \
      --require-hashes --only-binary=:all: -r /sbom/requirements.lock \
 && /tmp/sbom-tool/bin/cyclonedx-py environment --of JSON -o /opt/costdb-sbom/python.cdx.json \
      /opt/costdb/bin/python \
 && rm -rf /tmp/sbom-tool

# --- db ----------------------------------------------------------------------------------
FROM ${PGVECTOR_IMAGE} AS db
# The release workflow passes the version and the commit; a local build says "dev".
ARG COSTDB_VERSION=dev
ARG COSTDB_REVISION=unknown
LABEL org.opencontainers.image.title="costdb-db" \
      org.opencontainers.image.version="${COSTDB_VERSION}" \
      org.opencontainers.image.revision="${COSTDB_REVISION}" \
      org.opencontainers.image.description="PostgreSQL 17 + pgvector that migrates its costdb schema on start and probes it" \
      org.opencontainers.image.source="https://example.invalid/costdb" \
      org.opencontainers.image.licenses="MIT"
# Debian's interpreter alone (no venv, no pip): the virtualenv comes ready from db-python.
# pgBackRest (Debian's package) archives WAL and takes and restores backups (docker/backup/).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 pgbackrest \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && rm -f /etc/pgbackrest.conf \
 && install -d -o postgres -g postgres -m 0750 /var/lib/pgbackrest
COPY --from=db-python /opt/costdb /opt/costdb
# The image's SBOM (CycloneDX JSON): its Python environment and its Debian packages.
RUN --mount=type=bind,source=docker/sbom,target=/sbom \
    --mount=type=bind,from=db-python,source=/opt/costdb-sbom,target=/python-sbom \
    python3 /sbom/add-debian-packages.py /python-sbom/python.cdx.json \
      /usr/share/doc/costdb/sbom.cdx.json costdb-db "${COSTDB_VERSION}"
COPY --chmod=0755 initdb/ /docker-entrypoint-initdb.d/
COPY --chmod=0755 docker/db-entrypoint.sh docker/db-healthcheck.sh docker/costdb-role.sh \
     docker/costdb-pgbackrest-archive.sh docker/costdb-backup.sh /usr/local/bin/
COPY --chmod=0644 docker/pg_hba.conf docker/pg_hba-offered.conf /etc/costdb/
COPY --chmod=0644 docker/pgbackrest.conf /etc/pgbackrest/pgbackrest.conf
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# PostgreSQL's "fast" shutdown: roll back open transactions, then stop cleanly. The entrypoint
# turns a SIGTERM (Kubernetes) into the same.
STOPSIGNAL SIGINT
# The Python probe as the read-only role, over TCP: while the entrypoint runs the init
# scripts its temporary server listens on the Unix socket only, and until this start's
# `costdb migrate` has exited 0 the check fails with the sidecar's state.
HEALTHCHECK --interval=10s --timeout=10s --start-period=120s --start-interval=1s --retries=3 \
  CMD ["db-healthcheck.sh"]
ENTRYPOINT ["db-entrypoint.sh"]
CMD ["postgres"]

# --- exporter ----------------------------------------------------------------------------
# Prometheus' postgres_exporter (Debian's package) with costdb's queries, as the read-only role.
FROM ${PYTHON_IMAGE} AS exporter
ARG COSTDB_VERSION=dev
ARG COSTDB_REVISION=unknown
LABEL org.opencontainers.image.title="costdb-exporter" \
      org.opencontainers.image.version="${COSTDB_VERSION}" \
      org.opencontainers.image.revision="${COSTDB_REVISION}" \
      org.opencontainers.image.description="Prometheus postgres_exporter with costdb's queries" \
      org.opencontainers.image.source="https://example.invalid/costdb" \
      org.opencontainers.image.licenses="MIT"
# Debian's exporter follows the base image's release, which is what is pinned. It runs as a
# user of its own with fixed ids (the package's `prometheus` gets whatever system id is free).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends prometheus-postgres-exporter \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10002 exporter \
 && useradd --system --uid 10002 --gid 10002 --no-create-home --shell /usr/sbin/nologin exporter
COPY --chmod=0644 docker/exporter-queries.yaml /etc/costdb/exporter-queries.yaml
USER 10002:10002
EXPOSE 9187
# Debian 12's exporter (0.11) reads checkpoint columns that PostgreSQL 17 moved from
# pg_stat_bgwriter to pg_stat_checkpointer: that one collector is off, so that every scrape
# leaves the server's log clean.
ENTRYPOINT ["/usr/bin/prometheus-postgres-exporter", \
            "--extend.query-path=/etc/costdb/exporter-queries.yaml", "--no-collector.bgwriter"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --start-interval=1s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9187/metrics', timeout=4)"]

# --- tools -------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS tools
# The release workflow passes the version and the commit; a local build says "dev".
ARG COSTDB_VERSION=dev
ARG COSTDB_REVISION=unknown
LABEL org.opencontainers.image.title="costdb-tools" \
      org.opencontainers.image.version="${COSTDB_VERSION}" \
      org.opencontainers.image.revision="${COSTDB_REVISION}" \
      org.opencontainers.image.description="costdb migrate (sidecar) and the costdb health server" \
      org.opencontainers.image.source="https://example.invalid/costdb" \
      org.opencontainers.image.licenses="MIT"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN groupadd --system --gid 10001 costdb \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin costdb
COPY requirements.lock /tmp/requirements.lock
RUN --mount=type=bind,from=wheel,source=/dist,target=/dist \
    pip install --no-cache-dir --require-hashes --only-binary=:all: -r /tmp/requirements.lock \
 && pip install --no-cache-dir --no-deps /dist/*.whl \
 && rm /tmp/requirements.lock
# The image's SBOM (CycloneDX JSON): its Python environment (cyclonedx-py, pinned with hashes,
# in a throwaway virtualenv) and its Debian packages.
RUN --mount=type=bind,source=docker/sbom,target=/sbom \
    python -m venv /tmp/sbom-tool \
 && /tmp/sbom-tool/bin/pip install --no-cache-dir --quiet \
      --require-hashes --only-binary=:all: -r /sbom/requirements.lock \
 && /tmp/sbom-tool/bin/cyclonedx-py environment --of JSON -o /tmp/python.cdx.json \
      /usr/local/bin/python \
 && python /sbom/add-debian-packages.py /tmp/python.cdx.json \
      /usr/share/doc/costdb/sbom.cdx.json costdb-tools "${COSTDB_VERSION}" \
 && rm -rf /tmp/sbom-tool /tmp/python.cdx.json
USER 10001:10001
EXPOSE 8080
# The health server's own readiness: longer than its probe's --timeout (5 s), so a slow
# database is reported by the probe (503), not by the check timing out.
HEALTHCHECK --interval=10s --timeout=8s --start-period=30s --start-interval=1s --retries=3 \
  CMD ["python", "-m", "healthcheck.http_check", "--timeout", "7", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["costdb"]
CMD ["migrate"]
