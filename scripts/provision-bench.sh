#!/usr/bin/env bash
# Install ApacheBench (`ab`, Debian's apache2-utils) if missing: the benchmark's burst of
# simultaneous new connections to the health server comes from it, a C client on one event
# loop, so that the figure is the server's and not a Python load generator's.
# Idempotent: a machine with ab on its PATH is left untouched.
set -euo pipefail

# shellcheck source=scripts/provision-common.sh
. "$(dirname "$0")/provision-common.sh"

if command -v ab >/dev/null; then
  log "ApacheBench already installed; nothing to do"
  exit 0
fi
become_root_for_apt "$0" "$@"
log "installing apache2-utils (ab)"
apt-get install -y -qq --no-install-recommends apache2-utils >/dev/null
command -v ab >/dev/null || die "apache2-utils installed but ab is not on PATH"
