#!/usr/bin/env bash
# Install Node.js and npm from Debian's packages if missing: the TypeScript client checks
# (clients/drizzle: drizzle-kit, the example and the seed's client) run on them.
# Debian 12 ships Node.js 18, Debian 13 Node.js 20; the pinned packages support both.
# Idempotent: a machine with node and npm on its PATH is left untouched.
set -euo pipefail

# shellcheck source=scripts/provision-common.sh
. "$(dirname "$0")/provision-common.sh"

if command -v node >/dev/null && command -v npm >/dev/null; then
  log "Node.js $(node --version) and npm $(npm --version) already installed; nothing to do"
  exit 0
fi
become_root_for_apt "$0" "$@"
log "installing nodejs and npm"
apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
command -v npm >/dev/null || die "npm installed but not on PATH"
log "Node.js $(node --version), npm $(npm --version)"
