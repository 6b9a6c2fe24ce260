#!/usr/bin/env bash
# Install Node.js and npm from Debian's packages if missing: the TypeScript client checks
# (clients/drizzle: drizzle-kit, the example and the seed's client) run on them.
# Debian 12 ships Node.js 18, Debian 13 Node.js 20; the pinned packages support both.
# Idempotent: a machine with node and npm on its PATH is left untouched.
set -euo pipefail

log() { printf 'provision: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if command -v node >/dev/null && command -v npm >/dev/null; then
  log "Node.js $(node --version) and npm $(npm --version) already installed; nothing to do"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "run as root (it installs Debian packages)"
  log "installing Debian packages needs root: re-running with sudo"
  exec sudo bash "$0" "$@"
fi
command -v apt-get >/dev/null || die "this script supports Debian only (apt-get not found)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
log "installing nodejs and npm"
apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
command -v npm >/dev/null || die "npm installed but not on PATH"
log "Node.js $(node --version), npm $(npm --version)"
