"""Where costdb's shipped folders are: inside the installed package, or in the checkout.

The repository keeps ``migrations/``, ``initdb/`` and ``healthcheck/`` at its top level (the
layout the design card names). A wheel carries the first two inside the package
(``costdb/migrations``, ``costdb/initdb``: see ``pyproject.toml``), so that the tools image and
any ``pip install`` can migrate and run ``costdb local``; an editable install runs from the
checkout, where they sit next to ``src/``. One place decides, so nothing else guesses.
"""

from __future__ import annotations

import os.path

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_CHECKOUT_DIR = os.path.dirname(os.path.dirname(_PACKAGE_DIR))


def shipped_folder(name: str) -> str:
    """The folder ``name`` (``migrations``, ``initdb``) of this installation of costdb."""
    packaged = os.path.join(_PACKAGE_DIR, name)
    if os.path.isdir(packaged):
        return packaged
    return os.path.join(_CHECKOUT_DIR, name)


def migrations_folder() -> str:
    """Alembic's script directory: ``env.py``, ``script.py.mako``, ``versions/``."""
    return shipped_folder("migrations")


PRIVILEGES_SCRIPT = "30-privileges.sql"
"""The init script with every grant and privilege, idempotent: the first boot runs it with the
others, and every later start again (the db image's entrypoint, ``costdb local up``)."""


def initdb_folder() -> str:
    """The first-boot scripts the database image runs (and ``costdb local`` too)."""
    return shipped_folder("initdb")
