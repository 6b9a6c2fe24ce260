# CI only, not part of costdb: a stand-in for the citusdata/citus image the Compose profile
# `citus` builds on, since no image registry is reachable here. docker-kit's PostgreSQL 17
# stand-in (the official image's entrypoint) + Citus built from the vendored source, set up as
# the citusdata image sets itself up: citus preloaded, the extension created on first boot.
ARG BASE=pgvector/pgvector:0.8.6-pg17-bookworm

FROM ${BASE} AS build
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends "postgresql-server-dev-${PG_MAJOR}" \
      build-essential liblz4-dev libzstd-dev libkrb5-dev libssl-dev libicu-dev zlib1g-dev \
      libreadline-dev patch
COPY citus.tar.gz citus.patch /src/
WORKDIR /src/citus
RUN tar xzf ../citus.tar.gz --strip-components=1 \
 && patch -s -p1 < ../citus.patch \
 && ./configure -q --without-libcurl PG_CONFIG="/usr/lib/postgresql/${PG_MAJOR}/bin/pg_config" \
 && make -s -j"$(nproc)" \
 && make -s install DESTDIR=/out

FROM ${BASE}
COPY --from=build /out/ /
RUN echo "shared_preload_libraries='citus'" >> /usr/share/postgresql/postgresql.conf.sample \
 && echo "CREATE EXTENSION citus;" > /docker-entrypoint-initdb.d/000-create-citus-extension.sql
