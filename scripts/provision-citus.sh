#!/usr/bin/env bash
# Build and install the Citus extension for the PostgreSQL server that has pgvector, so that
# costdb's Citus-mode tests and benchmarks can run a coordinator and workers natively.
#
# Debian packages no Citus, and Citus's own apt repository may not be reachable, so Citus is
# built from a source tarball of tag v$CITUS_VERSION: CITUS_SOURCE (a file path or URL), by
# default GitHub's archive of the tag. ~2 minutes on 2 cores. Idempotent: a server that
# already has citus.control is left untouched. Exits non-zero with one line when no source
# can be had; the Citus tests then skip (or fail, with COSTDB_TEST_REQUIRE_CITUS=1).
set -euo pipefail

CITUS_VERSION="${CITUS_VERSION:-13.2.2}"
CITUS_SOURCE="${CITUS_SOURCE:-https://github.com/citusdata/citus/archive/refs/tags/v$CITUS_VERSION.tar.gz}"
here=$(cd "$(dirname "$0")" && pwd)
log() { printf 'provision-citus: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The newest server with pgvector: the one costdb's tests start (costdb.local.cluster).
major=""
for dir in /usr/lib/postgresql/*/; do
  m=$(basename "$dir")
  [ -f "/usr/share/postgresql/$m/extension/vector.control" ] && major=$m
done
[ -n "$major" ] || die "no PostgreSQL with pgvector installed: run 'make postgres' first"
if [ -f "/usr/share/postgresql/$major/extension/citus.control" ]; then
  log "Citus already installed for PostgreSQL $major; nothing to do"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "run as root (it installs Debian packages and the extension)"
  exec sudo --preserve-env=CITUS_VERSION,CITUS_SOURCE bash "$0" "$@"
fi
command -v apt-get >/dev/null || die "this script supports Debian only (apt-get not found)"

export DEBIAN_FRONTEND=noninteractive
apt_updated=0
apt_install() {
  [ "$apt_updated" = 1 ] || { apt-get update -qq; apt_updated=1; }
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# The source first: nothing is installed for a build that cannot happen.
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
tarball="$workdir/citus.tar.gz"
case "$CITUS_SOURCE" in
  http://* | https://*)
    command -v curl >/dev/null || apt_install curl ca-certificates
    log "downloading $CITUS_SOURCE"
    curl --fail --silent --show-error --location --connect-timeout 10 --max-time 300 \
      --output "$tarball" "$CITUS_SOURCE" \
      || die "cannot download Citus source from $CITUS_SOURCE (set CITUS_SOURCE to a local tarball)" ;;
  *)
    [ -f "$CITUS_SOURCE" ] || die "CITUS_SOURCE=$CITUS_SOURCE: no such file"
    cp "$CITUS_SOURCE" "$tarball" ;;
esac

# libicu-dev: PostgreSQL 17's server headers include ICU's (15's package pulls it in itself).
apt_install "postgresql-server-dev-$major" build-essential liblz4-dev libzstd-dev libkrb5-dev \
  libssl-dev libicu-dev zlib1g-dev libreadline-dev

mkdir "$workdir/src"
tar xzf "$tarball" -C "$workdir/src" --strip-components=1 || die "$CITUS_SOURCE is not a gzipped tarball"
cd "$workdir/src"
[ -f src/include/pg_version_compat.h ] || die "$CITUS_SOURCE does not hold Citus's source"
patch -s -p1 < "$here/citus/pg15-have-createdb-privilege.patch"
log "building Citus $CITUS_VERSION for PostgreSQL $major (~2 minutes)"
./configure -q PG_CONFIG="/usr/lib/postgresql/$major/bin/pg_config" --without-libcurl >/dev/null
make -s -j"$(nproc)" >/dev/null 2>"$workdir/build.log" || { tail -n 20 "$workdir/build.log" >&2; die "build failed"; }
make -s install >/dev/null
[ -f "/usr/share/postgresql/$major/extension/citus.control" ] || die "built, but citus.control not installed"
log "Citus $CITUS_VERSION installed for PostgreSQL $major"
