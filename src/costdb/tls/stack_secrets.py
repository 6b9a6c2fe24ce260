"""The Compose stack's passwords, made on the first ``docker compose up`` so that nothing has to
run before it: the stack's one-shot ``secrets`` service (``costdb secrets init``) writes each
missing password into a volume that every service reads through ``*_FILE``.

Beside them, the stack's TLS: a private CA (``costdb_ca.crt``, which every client verifies the
server with; its key ``costdb_ca.key``) and the db service's certificate for the host names
``db``, ``localhost`` and the loopback addresses (``costdb_tls.crt``, ``costdb_tls.key``),
made once and re-issued by the same CA in the certificate's last 30 days. Keys are readable
by root alone: the db image's entrypoint (root) hands a copy to PostgreSQL.

A password a user put in ``./secrets/<name>`` (``scripts/generate-secrets.sh``, or their own)
is taken instead, on every ``up``; otherwise one made earlier is kept, and only a missing one is
made: 32 random letters and digits (``secrets``, the operating system's CSPRNG). A value is
never printed; each file is replaced atomically, readable by the services' users (the volume is
mounted into the stack's own containers only).
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from pathlib import Path

from costdb.errors import ConfigError
from costdb.file_writes import replace_file
from costdb.tls.certificates import Issued, issue_ca, issue_server, needs_reissue, read_issued

NAMES = (
    "postgres_password",
    "costdb_owner_password",
    "costdb_app_password",
    "costdb_readonly_password",
)
ALPHABET = string.ascii_letters + string.digits
LENGTH = 32
MODE = 0o444  # postgres (uid 999) and costdb (uid 10001) read it; nobody rewrites it in place
KEY_MODE = 0o400  # root's alone
TLS_HOSTNAMES = ("db", "localhost", "127.0.0.1", "::1")
CA_FILES = ("costdb_ca.crt", "costdb_ca.key")
SERVER_FILES = ("costdb_tls.crt", "costdb_tls.key")


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


def _write(path: Path, value: str | bytes, mode: int = MODE) -> None:
    try:
        replace_file(path, value.encode() if isinstance(value, str) else value, mode)
    except OSError as exc:
        raise ConfigError(f"{path.parent}: cannot write the passwords: {exc.strerror}") from None


def _write_pair(into: Path, names: tuple[str, str], issued: Issued) -> None:
    _write(into / names[1], issued.key, KEY_MODE)  # the key first: never a certificate without it
    _write(into / names[0], issued.certificate)


def ensure_certificates(into: Path, extra_hostnames: list[str]) -> Outcome:
    """The stack's CA and the db service's certificate: kept, made, or re-issued when the
    certificate nears its end (or no longer names every host name asked for)."""
    hostnames = list(dict.fromkeys([*TLS_HOSTNAMES, *extra_hostnames]))
    ca = read_issued(into, *CA_FILES)
    server = read_issued(into, *SERVER_FILES)
    if ca is None:
        ca, server, action = issue_ca("costdb stack CA"), None, "made"
        _write_pair(into, CA_FILES, ca)
    else:
        action = "kept"
    if server is not None and needs_reissue(server, hostnames):
        server, action = None, "renewed"
    if server is None:
        _write_pair(into, SERVER_FILES, issue_server(ca, hostnames))
        action = "made" if action == "made" else "renewed"
    return Outcome("tls certificate", action)


def ensure_secrets(
    into: Path, given: Path | None = None, tls_hostnames: tuple[str, ...] = ()
) -> list[Outcome]:
    """Every password in ``into``: the user's from ``given``, else the one there, else new;
    then the stack's certificates."""
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
    outcomes.append(ensure_certificates(into, list(tls_hostnames)))
    return outcomes
