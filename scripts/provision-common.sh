# Sourced by the provision-*.sh scripts: their messages, and root for apt-get.
# shellcheck shell=bash

log() { printf 'provision: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Re-run the calling script with sudo unless it already runs as root, then make apt-get ready
# (non-interactive, package lists fresh). Usage: become_root_for_apt "$0" "$@"
become_root_for_apt() {
  local script=$1
  shift
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "run as root (it installs Debian packages)"
    log "installing Debian packages needs root: re-running with sudo"
    exec sudo bash "$script" "$@"
  fi
  command -v apt-get >/dev/null || die "this script supports Debian and Ubuntu only (apt-get not found)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
}
