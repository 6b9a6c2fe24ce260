#!/usr/bin/env bash
# Print CHANGELOG.md's section for one version: the release workflow's release notes.
#
#   scripts/release-notes.sh 1.2.3        (the tag v1.2.3 without its "v")
#
# A version with no "## [1.2.3]" section is an error in one line: a release is never published
# without its notes.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-}"
if [ -z "$version" ]; then
  echo "release-notes: error: usage: scripts/release-notes.sh VERSION (e.g. 1.2.3)" >&2
  exit 2
fi
notes=$(awk -v version="$version" '
  index($0, "## [" version "]") == 1 { found = 1; next }
  found && /^## \[/ { exit }
  found { print }
' CHANGELOG.md)
if [ -z "$(printf '%s' "$notes" | tr -d '[:space:]')" ]; then
  echo "release-notes: error: CHANGELOG.md has no entry for $version (add a \"## [$version] - YYYY-MM-DD\" section)" >&2
  exit 1
fi
printf '%s\n' "$notes" | sed -e '/./,$!d'
