#!/usr/bin/env bash
# The costdb db image's entrypoint: PostgreSQL through the official entrypoint (first-boot
# semantics unchanged: initdb, /docker-entrypoint-initdb.d on an empty volume only), then
# `costdb migrate` against it once it accepts TCP connections, on every start.
#
#   - The sidecar's outcome is written to $COSTDB_STATE_DIR/migrate.status ("running", "ok",
#     "failed: <its one line>"); the HEALTHCHECK (db-healthcheck.sh) is healthy only after
#     "ok" and a passing probe. A failed migration leaves PostgreSQL running, so that the
#     database can be inspected, and the container unhealthy until a restart migrates it.
#   - A volume whose first boot failed half-way (an init script exited non-zero) is refused
#     at every later start: it could never become healthy, and only removing it helps.
#   - SIGINT and SIGTERM stop the sidecar and shut PostgreSQL down fast (open transactions
#     rolled back); nothing is left behind.
#   - COSTDB_MIGRATE_ON_START=false skips the sidecar (for a separate migrate step).
#   - COSTDB_TLS, read at every start: `required` (the default; `on`, its earlier name, too),
#     `offered` or `off`; anything else stops the start in one line. Unless off, `costdb tls
#     prepare` checks the given certificate and key (COSTDB_TLS_CERT_FILE, COSTDB_TLS_KEY_FILE,
#     optional COSTDB_TLS_CA_FILE) or generates a CA and certificate kept in the volume
#     ($PGDATA/costdb-tls/ca.crt is the CA clients trust), and a bad file stops the start in one
#     line. `required`: TCP connections need TLS and SCRAM (/etc/costdb/pg_hba.conf; the
#     container's own loopback excepted). `offered`: TLS is served to every client that asks
#     (libpq's sslmode=prefer does), and a client that does not ask connects in clear text with
#     SCRAM (/etc/costdb/pg_hba-offered.conf): for a stack whose port is not reachable from a
#     network, as Compose's development stack publishes it on 127.0.0.1 only. `off`: no TLS, the
#     data directory's own pg_hba.conf. The choice is the server setting `costdb.tls`, and
#     COSTDB_STACK (Compose sets `development`) is `costdb.stack`: the probe reads both (and
#     listen_addresses) to say whether clear text is accepted and to warn where it should not
#     be. Given files are re-read every COSTDB_TLS_RELOAD_SECONDS (60): a renewed pair that
#     passes the same checks is served after a configuration reload, without a restart; a bad
#     one is refused and the old certificate keeps serving.
set -Eeuo pipefail

log() { printf 'costdb: %s\n' "$*" >&2; }

# Another command than the server (`docker run IMAGE psql ...`): exactly as the official image.
if [ "${1:-}" != postgres ] && [ "${1:0:1}" != - ]; then
  exec docker-entrypoint.sh "$@"
fi

case "${COSTDB_TLS:-required}" in
  required | on) tls_mode=required ;;
  offered | off) tls_mode=$COSTDB_TLS ;;
  *)
    log "error: COSTDB_TLS is '${COSTDB_TLS}': use required (the default: TLS on every TCP" \
        "connection), offered (TLS for clients that ask, clear text for the others) or off"
    exit 1 ;;
esac

export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
state_dir="${COSTDB_STATE_DIR:-/var/run/postgresql}"
status_file="$state_dir/costdb-migrate.status"
migrate_log="$state_dir/costdb-migrate.log"
first_boot_marker="$PGDATA/costdb-first-boot-incomplete"  # written and removed by initdb/

if [ -e "$first_boot_marker" ]; then
  log "error: the first boot of the data volume at $PGDATA failed and never finished:"
  sed 's/^/costdb:   /' "$first_boot_marker" >&2 || true
  log "this volume can never become healthy: remove it (docker compose down --volumes," \
      "or docker volume rm), fix the secret or setting named above, and start again"
  exit 1
fi

mkdir -p "$state_dir"
printf 'starting\n' > "$status_file"

server_pid=""
migrate_pid=""
watcher_pid=""
stopping=false

tls_dir="$state_dir/costdb-tls"
prepare_tls() {
  /opt/costdb/bin/costdb tls prepare --runtime-dir "$tls_dir" --data-dir "$PGDATA" \
    | sed 's/^/costdb: /' >&2
  return "${PIPESTATUS[0]}"
}

# What the probe reads back (the server settings costdb.tls and costdb.stack).
server_options=(-c "costdb.tls=$tls_mode")
if [ -n "${COSTDB_STACK:-}" ]; then server_options+=(-c "costdb.stack=$COSTDB_STACK"); fi
if [ "$tls_mode" != off ]; then
  prepare_tls || exit 1
  hba_file=/etc/costdb/pg_hba.conf
  if [ "$tls_mode" = offered ]; then hba_file=/etc/costdb/pg_hba-offered.conf; fi
  server_options+=(-c ssl=on -c "ssl_cert_file=$tls_dir/server.crt"
    -c "ssl_key_file=$tls_dir/server.key" -c ssl_min_protocol_version=TLSv1.2
    -c "hba_file=$hba_file")
fi

# The given files' contents, to notice a renewal (Kubernetes swaps a secret's files in place).
tls_fingerprint() {
  cat -- "$COSTDB_TLS_CERT_FILE" "$COSTDB_TLS_KEY_FILE" ${COSTDB_TLS_CA_FILE:+"$COSTDB_TLS_CA_FILE"} \
    2>/dev/null | sha256sum
}

watch_tls() {
  local seen current
  seen=$(tls_fingerprint)
  while sleep "${COSTDB_TLS_RELOAD_SECONDS:-60}"; do
    current=$(tls_fingerprint)
    [ "$current" = "$seen" ] && continue
    seen=$current
    if prepare_tls; then
      kill -HUP "$server_pid"
      log "TLS: the renewed certificate is served from now on (configuration reloaded)"
    else
      log "error: the renewed TLS files were refused (the line above says why); the" \
          "previous certificate keeps serving"
    fi
  done
}

stop() {
  stopping=true
  log "$1 received: stopping${migrate_pid:+ the migration sidecar and} PostgreSQL"
  if [ -n "$migrate_pid" ]; then kill -TERM "$migrate_pid" 2>/dev/null || true; fi
  if [ -n "$watcher_pid" ]; then kill -TERM "$watcher_pid" 2>/dev/null || true; fi
  # SIGINT is PostgreSQL's fast shutdown, whichever signal asked for it.
  if [ -n "$server_pid" ]; then kill -INT "$server_pid" 2>/dev/null || true; fi
}
trap 'stop SIGINT' INT
trap 'stop SIGTERM' TERM

# Wait for a child, through any trapped signal; return its exit code.
wait_for() {
  local pid=$1 code
  while :; do
    code=0
    wait "$pid" || code=$?
    kill -0 "$pid" 2>/dev/null || return "$code"
  done
}

# WAL archiving through pgBackRest (docker/costdb-pgbackrest-archive.sh: a segment waits in pg_wal
# until the repository has it; nothing is archived before a repository is set up). A segment is
# closed at least every COSTDB_ARCHIVE_TIMEOUT seconds (300) while there are writes: the most a
# point-in-time restore can miss of a lost volume.
server_options+=(-c archive_mode=on -c "archive_command=costdb-pgbackrest-archive.sh %p"
  -c "archive_timeout=${COSTDB_ARCHIVE_TIMEOUT:-300}")
# costdb's options first, so that the user's own (-c ...) win.
if [ "${1:-}" = postgres ]; then shift; fi
docker-entrypoint.sh postgres "${server_options[@]}" "$@" &
server_pid=$!

# Ready for the sidecar: the server that listens on TCP (not the first boot's socket-only one)
# says "ready" in postmaster.pid (its 6th line: the listen address, 8th: the state; what pg_ctl
# reads), then answers pg_isready. Asking pg_isready alone earlier would make the server log
# `FATAL: the database system is starting up` at every start. A failed first boot ends the
# entrypoint instead. pg_isready names the superuser: without a user it would ask for "root"
# (this script's user), and the server would log `FATAL: role "root" does not exist`; with an
# existing role it leaves at the password request, which the server does not log.
server_ready() {
  local lines=()
  mapfile -t lines 2>/dev/null < "$PGDATA/postmaster.pid" || return 1  # (stderr first: a missing file says nothing)
  [ -n "${lines[5]:-}" ] && [[ "${lines[7]:-}" == ready* ]] || return 1
  pg_isready --host=127.0.0.1 --port="${PGPORT:-5432}" --username="${POSTGRES_USER:-postgres}" \
    --dbname="${POSTGRES_DB:-${POSTGRES_USER:-postgres}}" --quiet
}
until server_ready; do
  if [ "$stopping" = true ]; then  # a stop during the first boot: insist until it is down
    kill -INT "$server_pid" 2>/dev/null || true
  fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    code=0
    wait_for "$server_pid" || code=$?
    if [ "$stopping" = false ] && [ -e "$first_boot_marker" ]; then
      log "error: the first boot failed (the init script's message is above); the volume is" \
          "left as it is, and every later start refuses it"
      # The official entrypoint left its temporary, socket-only server running.
      if [ "$(id -u)" = 0 ]; then stop_as=(gosu postgres); else stop_as=(); fi
      "${stop_as[@]}" pg_ctl -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
      code=1
    fi
    exit "$code"
  fi
  sleep 0.2
done

# Every grant and privilege (initdb/30-privileges.sql, idempotent) on every start, before the
# migration: a volume made by an earlier release gets what a later one grants. Skipped on a
# volume whose first boot made no costdb roles (a failed first boot stops above).
apply_privileges() {
  local as_server=()
  if [ "$(id -u)" = 0 ]; then as_server=(gosu postgres); fi
  "${as_server[@]}" psql -X -q -v ON_ERROR_STOP=1 --no-password --host=/var/run/postgresql \
    --port="${PGPORT:-5432}" --username="${POSTGRES_USER:-postgres}" \
    --dbname="${POSTGRES_DB:-${POSTGRES_USER:-postgres}}" \
    --file=/docker-entrypoint-initdb.d/30-privileges.sql
}
apply_privileges || log "warning: could not apply the roles' privileges (above)"

if [ "$tls_mode" != off ]; then
  if [ -n "${COSTDB_TLS_CERT_FILE:-}" ]; then
    watch_tls &
    watcher_pid=$!
  else
    prepare_tls || true  # a certificate generated at the first boot moves into the volume now
  fi
fi

if [ "${COSTDB_MIGRATE_ON_START:-true}" = true ]; then
  printf 'running\n' > "$status_file"
  costdb-role.sh costdb_owner COSTDB_OWNER_PASSWORD \
    /opt/costdb/bin/costdb migrate --wait "${COSTDB_MIGRATE_WAIT:-60}" \
      --log-format "${COSTDB_LOG_FORMAT:-text}" 2> >(tee "$migrate_log" >&2) &
  migrate_pid=$!
  code=0
  wait_for "$migrate_pid" || code=$?
  migrate_pid=""
  if [ "$code" = 0 ]; then
    printf 'ok\n' > "$status_file"
  elif [ "$stopping" = false ]; then
    sleep 0.1  # tee may still be writing the last line
    printf 'failed (exit %s): %s\n' "$code" "$(tail -n 1 "$migrate_log" 2>/dev/null)" > "$status_file"
    log "error: the migration sidecar exited $code; PostgreSQL keeps running for inspection" \
        "and the container stays unhealthy: fix the cause, then restart the container"
  fi
else
  printf 'ok\n' > "$status_file"
  log "COSTDB_MIGRATE_ON_START=false: not migrating (a separate step must)"
fi

code=0
wait_for "$server_pid" || code=$?
if [ -n "$watcher_pid" ]; then kill -TERM "$watcher_pid" 2>/dev/null || true; fi
exit "$code"
