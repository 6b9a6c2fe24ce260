#!/usr/bin/env bash
# The db image's archive_command (`costdb-pgbackrest-archive.sh %p`: pgBackRest refuses to back
# up unless archive_command names it): hand a WAL segment to pgBackRest, so that a failure
# (repository full, unreachable, not writable) leaves the segment in pg_wal and PostgreSQL
# tries again until it succeeds: nothing is lost while the repository is away.
#
# Until a repository is set up (`costdb backup` creates its stanza) there is nothing to archive
# to, and no backup that could ever use the segment: it is let go, as with archiving off, so
# that a database without backups does not fill its disk with WAL. "Not set up" is said only
# of a directory repository that is readable and holds no archive/ at all; an object store, or
# a directory that cannot be read, is always pushed to (and fails loudly while it cannot be).
set -euo pipefail
repository="${PGBACKREST_REPO1_PATH:-/var/lib/pgbackrest}"
if [ "${PGBACKREST_REPO1_TYPE:-posix}" = posix ] && [ -r "$repository" ] && [ -x "$repository" ] \
    && [ ! -e "$repository/archive" ]; then
  exit 0
fi
exec pgbackrest --stanza=costdb --pg1-path="$PGDATA" archive-push "$1"
