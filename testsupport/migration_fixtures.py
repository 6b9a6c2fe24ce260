"""Test-only migration scripts: costdb's own, copied, plus extra revisions on top of them."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from alembic.config import Config

from costdb.migrate.scripts import script_directory
from costdb.paths import migrations_folder

SHIPPED_REVISIONS = tuple(
    script.revision for script in reversed(list(script_directory().walk_revisions()))
)
"""costdb's own revisions, oldest first."""
HEAD = SHIPPED_REVISIONS[-1]

REVISION_TEMPLATE = '''\
"""{doc}"""

from alembic import op

revision = "{revision}"
down_revision = "{down_revision}"
branch_labels = None
depends_on = None


def upgrade() -> None:
{body}


def downgrade() -> None:
    pass
'''


def revision_source(revision: str, down_revision: str, body: str, doc: str = "test") -> str:
    return REVISION_TEMPLATE.format(
        doc=doc,
        revision=revision,
        down_revision=down_revision,
        body=textwrap.indent(textwrap.dedent(body).strip(), "    "),
    )


class ScriptCopy:
    """A copy of costdb's migrations in ``root`` that a test may add revisions to or edit
    (tests number theirs from 9001, on top of ``HEAD``)."""

    def __init__(self, root: Path) -> None:
        source = Path(migrations_folder())
        self.root = root / "migrations"
        shutil.copytree(source, self.root, ignore=shutil.ignore_patterns("__pycache__"))

    def write(self, revision: str, down_revision: str, body: str) -> Path:
        path = self.root / "versions" / f"{revision}_test.py"
        path.write_text(revision_source(revision, down_revision, body), encoding="utf-8")
        return path

    def config(self) -> Config:
        config = Config()
        config.set_main_option("script_location", str(self.root))
        return config
