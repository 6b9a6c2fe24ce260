#!/usr/bin/env bash
# costdb-role.sh ROLE PASSWORD_VARIABLE COMMAND...: run COMMAND with libpq's variables set for
# one costdb role on this container's server over TCP (127.0.0.1, POSTGRES_DB). The password
# comes from PASSWORD_VARIABLE_FILE or PASSWORD_VARIABLE (the image's own variables) and is
# exported, never put on a command line. Root drops to the postgres OS user first.
set -euo pipefail
role=$1 variable=$2
shift 2
file_variable="${variable}_FILE"
unset PGPASSWORD PGPASSWORD_FILE PGSERVICE DATABASE_URL DATABASE_URL_FILE
export PGHOST=127.0.0.1 PGPORT="${PGPORT:-5432}" PGUSER="$role"
export PGDATABASE="${POSTGRES_DB:-${POSTGRES_USER:-postgres}}"
if [ -n "${!file_variable:-}" ]; then
  export PGPASSWORD_FILE="${!file_variable}"
elif [ -n "${!variable:-}" ]; then
  export PGPASSWORD="${!variable}"
fi
unset "$variable" "$file_variable"
# TLS over the loopback too, verified against the CA when the entrypoint knows it.
tls_ca="${COSTDB_STATE_DIR:-/var/run/postgresql}/costdb-tls/ca.crt"
if [ -s "$tls_ca" ]; then
  export PGSSLMODE=verify-ca PGSSLROOTCERT="$tls_ca"
fi
if [ "$(id -u)" = 0 ]; then
  exec gosu postgres "$@"
fi
exec "$@"
