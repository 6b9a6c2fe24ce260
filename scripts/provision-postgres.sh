#!/usr/bin/env bash
# Install a PostgreSQL server with the pgvector extension from Debian's own packages.
#
# Debian 13 (trixie) ships postgresql-17-pgvector. Debian 12 (bookworm) has no pgvector
# package, so pgvector 0.8.0 is built from trixie's *source* package against the installed
# server's headers (a deb-src entry only: no trixie binaries are ever installed).
# Idempotent: a machine that already has a server with pgvector is left untouched.
set -euo pipefail

PGVECTOR_SOURCE_VERSION="${PGVECTOR_SOURCE_VERSION:-0.8.0}"
log() { printf 'provision: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

have_server_with_vector() {
  local bindir major
  for bindir in /usr/lib/postgresql/*/bin; do
    [ -x "$bindir/postgres" ] || continue
    major=$(basename "$(dirname "$bindir")")
    [ -f "/usr/share/postgresql/$major/extension/vector.control" ] && return 0
  done
  return 1
}

if have_server_with_vector; then
  log "PostgreSQL with pgvector already installed; nothing to do"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "run as root (it installs Debian packages)"
  log "installing Debian packages needs root: re-running with sudo"
  exec sudo --preserve-env=PGVECTOR_SOURCE_VERSION bash "$0" "$@"
fi
command -v apt-get >/dev/null || die "this script supports Debian only (apt-get not found)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq

candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}'; }

# 1. A distribution that packages pgvector: install the server and the extension.
for major in 18 17 16 15; do
  cand=$(candidate "postgresql-$major-pgvector")
  if [ -n "$cand" ] && [ "$cand" != "(none)" ]; then
    log "installing postgresql-$major and postgresql-$major-pgvector $cand"
    apt-get install -y -qq --no-install-recommends "postgresql-$major" "postgresql-$major-pgvector" >/dev/null
    have_server_with_vector || die "postgresql-$major-pgvector installed but vector.control not found"
    exit 0
  fi
done

# 2. No pgvector package (Debian 12): build it from trixie's source package.
major=""
for m in 17 16 15; do
  cand=$(candidate "postgresql-server-dev-$m")
  if [ -n "$cand" ] && [ "$cand" != "(none)" ]; then major=$m; break; fi
done
[ -n "$major" ] || die "no postgresql-server-dev package found to build pgvector against"
log "no pgvector package: building pgvector $PGVECTOR_SOURCE_VERSION against PostgreSQL $major"
apt-get install -y -qq --no-install-recommends \
  "postgresql-$major" "postgresql-server-dev-$major" build-essential dpkg-dev >/dev/null

# A source list for trixie, present only while this runs: the system's apt sources are left
# as they were found, on success, failure or interruption.
trixie_sources=/etc/apt/sources.list.d/costdb-trixie-src.sources
workdir=$(mktemp -d)
chmod 755 "$workdir"  # apt downloads as the _apt user
restore() {
  rm -rf "$workdir"
  if [ -e "$trixie_sources" ]; then
    rm -f "$trixie_sources"
    apt-get update -qq || true
  fi
}
trap restore EXIT
# The Debian mirror this machine already uses (its own apt configuration), security excluded.
mirror=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null \
  | awk '$2 !~ /security/ {print $2; exit}' || true)
if [ -z "$mirror" ]; then
  mirror=$(grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
    | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' \
    | grep -v security | head -n 1 || true)
fi
[ -n "$mirror" ] || die "no Debian mirror found in apt's configuration"
cat > "$trixie_sources" <<SRC
# Added by costdb's scripts/provision-postgres.sh while it runs: source packages only.
Types: deb-src
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
apt-get update -qq

version=$(apt-cache showsrc pgvector | awk '/^Version:/ {print $2}' | grep "^$PGVECTOR_SOURCE_VERSION" | head -n1 || true)
[ -n "$version" ] || die "pgvector $PGVECTOR_SOURCE_VERSION source package not found in trixie"
(cd "$workdir" && apt-get source -qq --download-only "pgvector=$version" >/dev/null \
  && dpkg-source -x --no-check ./*.dsc src >/dev/null)
pg_config="/usr/lib/postgresql/$major/bin/pg_config"
make -s -C "$workdir/src" PG_CONFIG="$pg_config" OPTFLAGS="" >/dev/null
make -s -C "$workdir/src" PG_CONFIG="$pg_config" install >/dev/null
have_server_with_vector || die "pgvector built but vector.control not found"
log "pgvector $version installed for PostgreSQL $major"
