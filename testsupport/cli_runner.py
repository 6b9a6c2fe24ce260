"""Run costdb's commands as a user would: a separate process, its own environment."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping

from costdb.settings import DatabaseSettings

_LIBPQ_VARIABLES = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "DATABASE_URL")


def clean_environment(**extra: str) -> dict[str, str]:
    """The current environment without any database configuration, plus ``extra``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(_LIBPQ_VARIABLES)}
    return environment | extra


def url_environment(database: DatabaseSettings, **extra: str) -> dict[str, str]:
    return clean_environment(DATABASE_URL=database.url, **extra)


def run_module(
    module: str, *args: str, env: Mapping[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
