#!/usr/bin/env bash
# costdb-backup.sh ARGS: `costdb backup ARGS` as pgBackRest needs it: as the data directory's
# OS user, connected to this container's (or the shared socket's) server over its Unix socket as
# the superuser (a backup's start and stop are superuser functions; the socket trusts the
# container's own processes, as in the official image). `restore` first makes the empty data
# directory the server's.
set -euo pipefail
export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
export PGHOST="${COSTDB_SOCKET_DIR:-/var/run/postgresql}" PGUSER="${POSTGRES_USER:-postgres}"
export PGDATABASE="${POSTGRES_DB:-${POSTGRES_USER:-postgres}}"
unset PGPASSWORD PGPASSWORD_FILE PGSERVICE DATABASE_URL DATABASE_URL_FILE PGSSLMODE PGSSLROOTCERT
if [ "$(id -u)" = 0 ]; then
  if [ "${1:-}" = restore ]; then
    install -d -o postgres -g postgres -m 0700 "$PGDATA"
  fi
  exec gosu postgres /opt/costdb/bin/costdb backup "$@"
fi
exec /opt/costdb/bin/costdb backup "$@"
