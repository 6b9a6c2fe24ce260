"""clients/drizzle run with npm as a backend team runs it: its pinned packages, its programs
(the example and the seed's client, written against the spec's schema) and their JSON line."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from testsupport.cli_runner import clean_environment
from testsupport.containers import REPO

CLIENT = REPO / "clients" / "drizzle"
NODE_TIMEOUT = 300


def npm(
    *args: str,
    env: dict[str, str] | None = None,
    prefix: Sequence[str] = (),
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """``npm args`` in clients/drizzle (``prefix``: a command to run it under); with ``check``,
    it must pass."""
    result = subprocess.run(
        [*prefix, "npm", *args],
        cwd=CLIENT,
        env=env or clean_environment(),
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
        check=False,
    )
    assert not check or result.returncode == 0, result.stdout + result.stderr
    return result


def installed_client() -> Path:
    """clients/drizzle with its pinned packages installed (``npm ci``); skips without npm."""
    if shutil.which("npm") is None:
        pytest.skip("needs Node.js and npm (`make test` in CI installs them: see .ci/run)")
    npm("ci", "--no-audit", "--no-fund", "--prefer-offline")
    return CLIENT


def run_program(script: str, database_url: str, prefix: Sequence[str] = ()) -> dict[str, Any]:
    """One of the client's programs against ``database_url``: its last line, as JSON."""
    result = npm(
        "run", "--silent", script, env=clean_environment(DATABASE_URL=database_url), prefix=prefix
    )
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]
