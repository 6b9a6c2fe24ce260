#!/usr/bin/env bash
# The costdb db image's HEALTHCHECK: healthy only when this start's migration sidecar exited 0
# and the Python probe, as the read-only role over TCP, finds every table, index and extension
# present and valid at the head revision.
set -euo pipefail
status=$(cat "${COSTDB_STATE_DIR:-/var/run/postgresql}/costdb-migrate.status" 2>/dev/null) \
  || status="not started"
if [ "$status" != ok ]; then
  echo "unhealthy: migration sidecar: $status"
  exit 1
fi
exec costdb-role.sh costdb_readonly COSTDB_READONLY_PASSWORD \
  /opt/costdb/bin/python -m healthcheck --timeout "${COSTDB_HEALTH_TIMEOUT:-8}"
