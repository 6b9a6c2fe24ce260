#!/usr/bin/env bash
# First boot only, before anything else: mark the data directory as not finished. The last
# script (99-first-boot-done.sh) removes the mark; if any script in between fails, it stays,
# and the image's entrypoint (and `costdb local`) refuse the volume at every later start
# instead of running a database its first boot never finished (roles missing, and so on).
set -Eeuo pipefail
: "${PGDATA:?PGDATA must name the data directory}"
printf 'first boot started %s; an init script failed before 99-first-boot-done.sh\n' \
  "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$PGDATA/costdb-first-boot-incomplete"
