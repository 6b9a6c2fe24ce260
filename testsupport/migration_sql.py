"""``python -m testsupport.migration_sql DIR`` (``make lint``): each revision's offline SQL in
its own file, ``DIR/<revision>.sql``, for squawk.

Per revision, because squawk judges a file as a whole: one revision that must run outside a
transaction (``CREATE INDEX CONCURRENTLY``) would make it treat every other revision's
statements as non-transactional too. Each file starts with the ``SET lock_timeout`` and
``statement_timeout`` that env.py issues before any migration, as the real run does.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from alembic import command

from costdb.migrate.scripts import alembic_config, script_directory


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for script in reversed(list(script_directory().walk_revisions())):
        start = script.down_revision or "base"
        target = folder / f"{script.revision}.sql"
        with target.open("w", encoding="utf-8") as out, contextlib.redirect_stdout(out):
            command.upgrade(alembic_config(), f"{start}:{script.revision}", sql=True)
        print(f"wrote {target}", file=sys.stderr)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
