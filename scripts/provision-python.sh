#!/usr/bin/env bash
# Make sure `python3 -m venv` works: Debian ships the venv module (and ensurepip) in a
# separate package, python3-venv, that a fresh machine may lack. Idempotent.
set -euo pipefail
PYTHON="${PYTHON:-python3}"
log() { printf 'provision: %s\n' "$*" >&2; }

command -v "$PYTHON" >/dev/null || { log "error: $PYTHON not found"; exit 1; }
if "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { log "error: run as root (it installs python3-venv)"; exit 1; }
  exec sudo --preserve-env=PYTHON bash "$0" "$@"
fi
command -v apt-get >/dev/null || { log "error: $PYTHON has no venv module and apt-get is missing"; exit 1; }
log "installing python3-venv ($PYTHON has no venv module)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
"$PYTHON" -c 'import ensurepip, venv' || { log "error: python3-venv installed, venv still missing"; exit 1; }
