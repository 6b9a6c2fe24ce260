"""The Compose stack's passwords, made on the first ``docker compose up`` so that nothing has to
run before it: the stack's one-shot ``secrets`` service (``costdb secrets init``) writes each
missing password into a volume that every service reads through ``*_FILE``.

A password a user put in ``./secrets/<name>`` (``scripts/generate-secrets.sh``, or their own)
is taken instead, on every ``up``; otherwise one made earlier is kept, and only a missing one is
made: 32 random letters and digits (``secrets``, the operating system's CSPRNG). A value is
never printed; each file is replaced atomically, readable by the services' users (the volume is
mounted into the stack's own containers only).
"""

from __future__ import annotations

import os
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

from costdb.errors import ConfigError

NAMES = (
    "postgres_password",
    "costdb_owner_password",
    "costdb_app_password",
    "costdb_readonly_password",
)
ALPHABET = string.ascii_letters + string.digits
LENGTH = 32
MODE = 0o444  # postgres (uid 999) and costdb (uid 10001) read it; nobody rewrites it in place


@dataclass(frozen=True)
class Outcome:
    """What happened to one password: ``made``, ``kept`` or ``taken`` (from the user's file)."""

    name: str
    action: str


def _given(directory: Path | None, name: str) -> str | None:
    """The user's password for ``name``, if they gave one."""
    if directory is None:
        return None
    path = directory / name
    try:
        value = path.read_text(encoding="utf-8").rstrip("\r\n")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"{path}: cannot read it: {reason}") from None
    if not value.strip() or "\n" in value:
        raise ConfigError(f"{path}: a password file holds one non-empty line")
    return value


def _write(path: Path, value: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.unlink(missing_ok=True)
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, MODE)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(value)
        os.replace(partial, path)
    except OSError as exc:
        raise ConfigError(f"{path.parent}: cannot write the passwords: {exc.strerror}") from None


def ensure_secrets(into: Path, given: Path | None = None) -> list[Outcome]:
    """Every password in ``into``: the user's from ``given``, else the one there, else new."""
    if not into.is_dir():
        raise ConfigError(f"{into}: not a directory (the stack's secrets volume)")
    outcomes = []
    for name in NAMES:
        path = into / name
        user_value = _given(given, name)
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if user_value is not None:
            if user_value != current:
                _write(path, user_value)
            outcomes.append(Outcome(name, "taken"))
        elif current:
            outcomes.append(Outcome(name, "kept"))
        else:
            _write(path, "".join(secrets.choice(ALPHABET) for _ in range(LENGTH)))
            outcomes.append(Outcome(name, "made"))
    return outcomes
