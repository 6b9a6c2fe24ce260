"""pgBackRest, run as a subprocess: every call bounded in time, every failure one line.

pgBackRest reads its repository from its configuration file and ``PGBACKREST_*`` variables
(``PGBACKREST_REPO1_PATH``, or ``PGBACKREST_REPO1_TYPE=s3`` and its ``_S3_*`` settings), so a
deployment configures it as pgBackRest's own documentation says; costdb adds the stanza
(``costdb``) and the data directory (``PGDATA``). Its errors look like ``ERROR: [041]: unable
to open file ...``: that line, without the code's noise, is what a caller shows.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from costdb.errors import CostdbError

STANZA = "costdb"
_ERROR_LINE = re.compile(r"^(?:P\d+\s+)?ERROR: \[(\d+)\]: (.*)$", re.MULTILINE)
_RELAYED = re.compile(r"^raised from [\w-]+ protocol: ")  # a worker process's error, relayed


class BackupError(CostdbError):
    """pgBackRest failed, or refused what it was asked."""


@dataclass(frozen=True)
class BackupSet:
    """One backup in the repository, as ``pgbackrest info`` describes it."""

    label: str
    type: str
    started_at: datetime
    finished_at: datetime
    database_bytes: int
    repository_bytes: int
    prior: str | None  # the backup a diff or incr builds on


def _environment(environ: Mapping[str, str]) -> dict[str, str]:
    data_directory = environ.get("PGDATA", "/var/lib/postgresql/data")
    return {
        **environ,
        "PGBACKREST_STANZA": STANZA,
        "PGBACKREST_PG1_PATH": data_directory,
    }


def failure_line(output: str, what: str) -> str:
    errors = _ERROR_LINE.findall(output)
    if errors:
        code, message = errors[-1]
        return f"{what} failed: {_RELAYED.sub('', message.strip())} (pgBackRest error {code})"
    last = next((line for line in reversed(output.splitlines()) if line.strip()), "no output")
    return f"{what} failed: {last.strip()}"


def program(name: str) -> str:
    """The path of ``name`` on PATH; a clear error where the db image's programs are missing."""
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed here: costdb backup runs in the db image")
    return found


def run(
    *args: str, timeout: float, environ: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``pgbackrest ARGS``; raise ``BackupError`` with its error line if it fails."""
    what = f"pgbackrest {args[-1]}"
    try:
        result = subprocess.run(
            [program("pgbackrest"), *args],
            env=_environment(os.environ if environ is None else environ),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BackupError(f"{what} did not finish within {timeout:g} s") from None
    if result.returncode != 0:
        raise BackupError(failure_line(result.stderr + result.stdout, what))
    return result


def _instant(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def backup_sets(timeout: float, environ: Mapping[str, str] | None = None) -> list[BackupSet]:
    """The repository's backups, oldest first (none when the stanza does not exist yet)."""
    result = run("--output=json", "info", timeout=timeout, environ=environ)
    try:
        stanzas: list[dict[str, Any]] = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise BackupError("pgbackrest info answered something that is not JSON") from None
    found = []
    for stanza in stanzas:
        if stanza.get("name") != STANZA:
            continue
        for backup in stanza.get("backup", []):
            found.append(
                BackupSet(
                    label=backup["label"],
                    type=backup["type"],
                    started_at=_instant(backup["timestamp"]["start"]),
                    finished_at=_instant(backup["timestamp"]["stop"]),
                    database_bytes=int(backup["info"]["size"]),
                    repository_bytes=int(backup["info"]["repository"]["delta"]),
                    prior=backup.get("prior"),
                )
            )
    return sorted(found, key=lambda backup: backup.finished_at)
