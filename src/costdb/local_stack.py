"""``costdb local``: the database natively, for machines without a container engine.

Everything lives in one project-local directory (``.costdb/`` by default, ``COSTDB_LOCAL_DIR``
to move it): the cluster, its log, and the generated superuser password. The server listens on
127.0.0.1 only, on ``COSTDB_LOCAL_PORT`` (55432 by default, away from a system server's 5432).
A second ``up`` reuses the data; ``down`` stops the server and keeps it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import psycopg

from costdb.errors import ConfigError
from costdb.postgres_cluster import PostgresCluster, find_binaries
from costdb.settings import DatabaseSettings

DEFAULT_DIRECTORY = ".costdb"
DEFAULT_PORT = 55432
DATABASE_NAME = "costdb"


@dataclass(frozen=True)
class LocalStack:
    """The local cluster and the files that describe how to reach it."""

    cluster: PostgresCluster

    @property
    def password_file(self) -> Path:
        return self.cluster.root / "superuser.password"

    @property
    def url_file(self) -> Path:
        """The superuser URL, for ``DATABASE_URL_FILE`` (the URL itself is never printed)."""
        return self.cluster.root / "database.url"

    @property
    def settings(self) -> DatabaseSettings:
        return self.cluster.settings(DATABASE_NAME)

    def _write_secret(self, path: Path, content: str) -> None:
        path.write_text(content + "\n", encoding="utf-8")
        path.chmod(0o600)

    def up(self) -> bool:
        """Initialise on first use, start if stopped; return whether it was initialised now."""
        created = not self.cluster.is_initialised
        if created:
            self.cluster.initialise()
            self._write_secret(self.password_file, self.cluster.superuser_password)
        if not self.cluster.is_running:
            self.cluster.start()
        self._ensure_database()
        self._write_secret(self.url_file, self.settings.url)  # libpq's form: psql takes it too
        return created

    def _ensure_database(self) -> None:
        conninfo = self.cluster.settings().conninfo("costdb-local")
        with psycopg.connect(conninfo, autocommit=True) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)
            ).fetchone()
            if exists is None:
                connection.execute(f'CREATE DATABASE "{DATABASE_NAME}"')

    def down(self) -> bool:
        """Stop the server if it runs; return whether it was running."""
        if not self.cluster.is_initialised or not self.cluster.is_running:
            return False
        self.cluster.stop()
        return True


def _port(environ: Mapping[str, str]) -> int:
    raw = environ.get("COSTDB_LOCAL_PORT", str(DEFAULT_PORT))
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigError(f"COSTDB_LOCAL_PORT must be a port number (1-65535), got {raw!r}")
    return int(raw)


def load_local_stack(environ: Mapping[str, str] | None = None) -> LocalStack:
    """The local stack the environment describes; its password is generated on first use."""
    env = os.environ if environ is None else environ
    root = Path(env.get("COSTDB_LOCAL_DIR", DEFAULT_DIRECTORY)).resolve()
    password_file = root / "superuser.password"
    password = (
        password_file.read_text(encoding="utf-8").strip()
        if password_file.is_file()
        else secrets.token_urlsafe(24)
    )
    cluster = PostgresCluster(
        root=root, port=_port(env), superuser_password=password, binaries=find_binaries(env)
    )
    return LocalStack(cluster)
