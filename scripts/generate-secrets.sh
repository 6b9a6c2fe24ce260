#!/usr/bin/env bash
# Optional: `docker compose up` makes the stack's passwords itself on the first `up`. Run this
# (before that first `up`) to keep them as files of your own: ./secrets/<name>, random, never
# committed; the stack takes them instead of making its own.
#
# The directory is private (0700) so nobody else on this host can read the files; the files
# themselves are 0644 because Compose bind-mounts them into containers whose users
# (postgres, uid 999; costdb, uid 10001) differ from yours. Existing files are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
umask 077
mkdir -p secrets
chmod 700 secrets
for name in postgres_password costdb_owner_password costdb_app_password costdb_readonly_password; do
  file="secrets/$name"
  if [ -s "$file" ]; then
    echo "kept    $file"
    continue
  fi
  # 32 characters from [A-Za-z0-9]: safe in URLs and shells without quoting.
  head -c 48 /dev/urandom | base64 -w0 | LC_ALL=C tr -dc 'A-Za-z0-9' | cut -c1-32 | tr -d '\n' > "$file"
  chmod 644 "$file"
  echo "created $file"
done
