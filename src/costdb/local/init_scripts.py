"""Run ``initdb/`` as the official postgres image's entrypoint would, for ``costdb local``.

The same semantics, so the very same files run in both places: only on a freshly initialised
data directory; files in name order; ``*.sh`` executed if executable, else sourced;
``*.sql`` (and ``.sql.gz``, ``.sql.xz``) fed to ``psql -v ON_ERROR_STOP=1`` as
``POSTGRES_USER`` on ``POSTGRES_DB``; anything else ignored. Scripts see ``POSTGRES_USER``,
``POSTGRES_DB``, ``POSTGRES_PASSWORD`` and ``PGDATA``, and libpq's ``PGHOST``/``PGPORT``/``PGUSER``/
``PGPASSWORD`` point at the socket-only server that runs during init, and the server's own
``bin/`` comes first on ``PATH``. The first script that
fails stops everything, and its name and last error line are the message. The scripts run
from a copy inside the cluster's directory: the server's OS user runs them, and it may not
be able to read a checkout under a private home directory.
"""

from __future__ import annotations

import gzip
import logging
import lzma
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

from costdb.errors import CostdbError
from costdb.local.cluster import PostgresCluster, long_options

log = logging.getLogger("costdb.local")
_DECOMPRESSORS = {".gz": gzip.decompress, ".xz": lzma.decompress}


class InitScriptFailed(CostdbError):
    """An init script exited non-zero."""


def init_environment(
    cluster: PostgresCluster, database: str, extra: Mapping[str, str]
) -> dict[str, str]:
    """The environment the official entrypoint gives init scripts, plus ``extra``."""
    return {
        **extra,
        "POSTGRES_USER": cluster.superuser,
        "POSTGRES_DB": database,
        "POSTGRES_PASSWORD": cluster.superuser_password,
        "PGDATA": str(cluster.datadir),
        "PGHOST": str(cluster.socket_dir),
        "PGPORT": str(cluster.port),
        "PGUSER": cluster.superuser,
        "PGPASSWORD": cluster.superuser_password,
        # The server's own client programs first: psql matches the server's version.
        "PATH": f"{cluster.binaries.bindir}{os.pathsep}{extra.get('PATH', os.defpath)}",
    }


def _command_for(path: Path, env: Mapping[str, str]) -> tuple[list[str], bytes | None] | None:
    name = path.name
    psql = [
        "psql",
        *("-v", "ON_ERROR_STOP=1", "--no-password", "--no-psqlrc"),
        *long_options(username=env["POSTGRES_USER"], dbname=env["POSTGRES_DB"]),
    ]
    if name.endswith(".sh"):
        if os.access(path, os.X_OK):
            return [str(path)], None
        return ["bash", "-c", '. "$0"', str(path)], None
    if name.endswith(".sql"):
        return [*psql, "--file", str(path)], None
    for suffix, decompress in _DECOMPRESSORS.items():
        if name.endswith(".sql" + suffix):
            return [*psql, "--file", "-"], decompress(path.read_bytes())
    return None


def _reason(output: str, code: int) -> str:
    """The line that says why: psql's last ERROR/FATAL line, else the last line printed."""
    lines = [" ".join(line.split()) for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if re.search(r"\b(ERROR|FATAL|PANIC):", line)]
    return (errors or lines or [f"exit code {code}"])[-1]


def run_init_scripts(
    cluster: PostgresCluster, directory: Path, env: Mapping[str, str]
) -> list[str]:
    """Run every script of ``directory`` in name order; return the names of those run."""
    copy = cluster.root / "initdb.d"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(directory, copy)
    for path in (copy, *copy.iterdir()):
        cluster.chown_to_server_user(path)
    try:
        return _run_in_order(cluster, sorted(copy.iterdir()), env)
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def _run_in_order(cluster: PostgresCluster, paths: list[Path], env: Mapping[str, str]) -> list[str]:
    ran = []
    for path in paths:
        command = _command_for(path, env)
        if command is None:
            log.info("init: ignoring %s", path.name)
            continue
        args, stdin = command
        log.info("init: running %s", path.name)
        result = cluster.run_as_server_user(args, env, stdin=stdin)
        if result.returncode != 0:
            output = (result.stderr or result.stdout).decode(errors="replace")
            raise InitScriptFailed(
                f"init script {path.name} failed: {_reason(output, result.returncode)}"
            )
        ran.append(path.name)
    return ran
