#!/usr/bin/env bash
# First boot only, last: every init script succeeded; the data directory is complete.
set -Eeuo pipefail
rm -f "${PGDATA:?PGDATA must name the data directory}/costdb-first-boot-incomplete"
