#!/usr/bin/env bash
# First boot only: costdb's roles and their safe settings (their grants: 30-privileges.sql).
#
#   costdb_owner     owns the schema; `costdb migrate` runs as it (DDL)
#   costdb_app       the application: SELECT/INSERT/UPDATE/DELETE, no DDL, bounded statements
#   costdb_readonly  the health probe and dashboards: SELECT only, read-only transactions
#
# Passwords come from COSTDB_OWNER_PASSWORD, COSTDB_APP_PASSWORD, COSTDB_READONLY_PASSWORD or
# their *_FILE variants (setting both is an error, as for the official image's variables).
# Uses only psql, PGDATA and the documented POSTGRES_* variables, so `costdb local` runs it
# unchanged.
set -Eeuo pipefail

# Say what is wrong, and keep it in the first-boot mark (00-first-boot-started.sh) so that
# every later start of this volume can say it again.
fail() {
  echo "20-roles.sh: $*" >&2
  if [ -n "${PGDATA:-}" ] && [ -f "$PGDATA/costdb-first-boot-incomplete" ]; then
    echo "20-roles.sh: $*" >> "$PGDATA/costdb-first-boot-incomplete"
  fi
  exit 1
}

secret() {
  local name=$1 file_name="${1}_FILE" value
  if [ -n "${!name:-}" ] && [ -n "${!file_name:-}" ]; then
    fail "both $name and $file_name are set; set only one"
  fi
  if [ -n "${!file_name:-}" ]; then
    if [ ! -r "${!file_name}" ]; then
      fail "$file_name: cannot read ${!file_name}"
    fi
    value=$(< "${!file_name}")
    if [ -z "$value" ]; then
      fail "$file_name: ${!file_name} is empty: no role gets an empty password"
    fi
  else
    value=${!name:-}
  fi
  if [ -z "$value" ]; then
    fail "$name (or $file_name) must be set: no role gets a default password"
  fi
  printf '%s' "$value"
}

# Passwords reach psql through its environment (\getenv), never its command line.
COSTDB_INIT_OWNER_PASSWORD=$(secret COSTDB_OWNER_PASSWORD)
COSTDB_INIT_APP_PASSWORD=$(secret COSTDB_APP_PASSWORD)
COSTDB_INIT_READONLY_PASSWORD=$(secret COSTDB_READONLY_PASSWORD)
export COSTDB_INIT_OWNER_PASSWORD COSTDB_INIT_APP_PASSWORD COSTDB_INIT_READONLY_PASSWORD

psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password \
  --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-${POSTGRES_USER:-postgres}}" \
  <<'SQL'
\getenv owner_password COSTDB_INIT_OWNER_PASSWORD
\getenv app_password COSTDB_INIT_APP_PASSWORD
\getenv readonly_password COSTDB_INIT_READONLY_PASSWORD

ALTER SYSTEM SET password_encryption = 'scram-sha-256';
SET password_encryption = 'scram-sha-256';

CREATE ROLE costdb_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE costdb_app LOGIN PASSWORD :'app_password';
CREATE ROLE costdb_readonly LOGIN PASSWORD :'readonly_password';

-- Session defaults for the application: wait at most 5 s for a lock, run no statement longer
-- than 30 s, end a transaction forgotten open after a minute. Defaults, not limits: PostgreSQL
-- lets every role SET these for its own sessions (ALTER ROLE ... SET included), so they guard
-- against accidents, not against the application itself.
ALTER ROLE costdb_app SET lock_timeout = '5s';
ALTER ROLE costdb_app SET statement_timeout = '30s';
ALTER ROLE costdb_app SET idle_in_transaction_session_timeout = '60s';
ALTER ROLE costdb_readonly SET default_transaction_read_only = on;
ALTER ROLE costdb_readonly SET statement_timeout = '30s';
-- Every grant and privilege follows in 30-privileges.sql (first boot and every start).
SQL
