#!/usr/bin/env bash
# Install the CNCF Distribution registry (Debian's `docker-registry` package) if missing: the
# container tests push the built images to a registry of their own and pull them back by digest,
# as a user pulls a published image. Only the binary is used: each test run starts its own
# registry on a free loopback port with its storage in a temporary directory; the package's
# system service, where the init system starts it, is stopped and left disabled.
# Idempotent: a machine with `docker-registry` on its PATH is left untouched.
set -euo pipefail

# shellcheck source=scripts/provision-common.sh
. "$(dirname "$0")/provision-common.sh"

if command -v docker-registry >/dev/null; then
  log "docker-registry already installed; nothing to do"
  exit 0
fi
become_root_for_apt "$0" "$@"
log "installing docker-registry (CNCF Distribution)"
# policy-rc.d: no service is started by the installation (a container has no init to run it).
policy=/usr/sbin/policy-rc.d
created_policy=false
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && created_policy=true
fi
trap '[ "$created_policy" = true ] && rm -f "$policy"' EXIT
apt-get install -y -qq --no-install-recommends docker-registry >/dev/null
command -v docker-registry >/dev/null || die "docker-registry installed but not on PATH"
if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
  systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi
log "docker-registry $(docker-registry --version 2>/dev/null | awk '{print $NF}')"
