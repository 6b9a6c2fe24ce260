#!/usr/bin/env bash
# The Compose profile `citus`'s one-shot (the coordinator image): register the workers with the
# coordinator, then give each worker's database the schema privileges the coordinator got at
# first boot (initdb/30-privileges.sql): Citus copies costdb's roles to a new worker,
# but not the public schema's owner, grants or default privileges, without which the owner role
# cannot create the shards. Idempotent: citus_add_node returns a node already registered, and
# every statement of the privileges file can run again.
#
#   CITUS_COORDINATOR  the coordinator's host name, as the workers reach it
#   CITUS_WORKERS      the workers' host names, separated by spaces (port 5432)
#   PGDATABASE, PGUSER (a superuser), POSTGRES_PASSWORD_FILE
set -Eeuo pipefail

fail() { echo "register-workers.sh: $*" >&2; exit 1; }
[ -n "${CITUS_COORDINATOR:-}" ] || fail "CITUS_COORDINATOR must name the coordinator's host"
[ -n "${CITUS_WORKERS:-}" ] || fail "CITUS_WORKERS must name at least one worker host"
[ -r "${POSTGRES_PASSWORD_FILE:-}" ] || fail "POSTGRES_PASSWORD_FILE: cannot read '${POSTGRES_PASSWORD_FILE:-}'"
PGPASSWORD=$(< "$POSTGRES_PASSWORD_FILE")
export PGPASSWORD PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-5}"
privileges=/docker-entrypoint-initdb.d/30-privileges.sql

sql() { psql -v ON_ERROR_STOP=1 --no-psqlrc -qAt "$@" >/dev/null; }

sql -h "$CITUS_COORDINATOR" -c "SELECT citus_set_coordinator_host('$CITUS_COORDINATOR', 5432)"
for worker in $CITUS_WORKERS; do
  sql -h "$CITUS_COORDINATOR" -c "SELECT citus_add_node('$worker', 5432)"
  # On the worker itself, for its own database: Citus would otherwise refuse the statements
  # there ("operation is not allowed on this node") and send them nowhere else.
  PGOPTIONS="-c citus.enable_ddl_propagation=off" sql -h "$worker" -f "$privileges"
  echo "register-workers.sh: $worker registered"
done
