"""Whether TCP clients may connect without TLS, as the probe reports it: the verdict on every
combination of mode, listen address and stack, then the same facts read from a real server
(its settings as the db image's entrypoint sets them) in the CLI's report and in /metrics."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from costdb.settings import DatabaseSettings
from costdb.verify.catalog import Snapshot
from costdb.verify.server_checks import check_clear_text, server_gauges
from testsupport.cli_runner import run_module, url_environment
from testsupport.database_actions import run_sql

EMPTY = Snapshot(False, False, {}, None, {}, {}, {}, {}, None)


def _clients(tls: str | None, listen: str, stack: str | None = None, ssl: str = "on") -> Snapshot:
    return replace(EMPTY, clients={"tls": tls, "stack": stack, "ssl": ssl, "listen": listen})


@pytest.mark.parametrize(
    ("snapshot", "status", "said", "gauge"),
    [
        (_clients("required", "*"), "pass", "refused: TCP clients must use TLS", 0.0),
        (_clients("offered", "*"), "warn", "accepted (COSTDB_TLS=offered)", 1.0),
        (_clients("off", "0.0.0.0,::"), "warn", "set COSTDB_TLS=required", 1.0),
        (_clients("offered", "*", "development"), "pass", "on the development stack", 1.0),
        (_clients("offered", "*", "staging"), "warn", "listens on '*'", 1.0),
        (_clients("offered", "127.0.0.1, ::1"), "pass", "accepted on loopback only", 1.0),
        (_clients("offered", "localhost,127.0.0.2"), "pass", "accepted on loopback only", 1.0),
        (_clients("offered", ""), "pass", "accepted on loopback only", 1.0),
        (_clients(None, "127.0.0.1", ssl="off"), "pass", "(ssl is off, listening on", 1.0),
        (_clients(None, "db.internal", ssl="off"), "warn", "turn ssl on and require it", 1.0),
        (_clients(None, "*"), "pass", "not known: not the costdb image", None),
        (EMPTY, "pass", "not known", None),
    ],
)
def test_the_verdict_on_clear_text(
    snapshot: Snapshot, status: str, said: str, gauge: float | None
) -> None:
    check = check_clear_text(snapshot)
    assert (check.name, check.status) == ("clear_text", status)
    assert said in check.detail
    assert server_gauges(snapshot, None)["clear_text_accepted"] == gauge


def _clear_text_check(database: DatabaseSettings) -> dict[str, str]:
    probe = run_module("healthcheck", "--json", env=url_environment(database))
    assert probe.returncode == 0, probe.stdout
    checks: dict[str, dict[str, str]] = {
        check["name"]: check for check in json.loads(probe.stdout)["checks"]
    }
    return checks["clear_text"]


@pytest.mark.slow  # the probe as a process
def test_the_probe_reads_how_a_real_server_lets_clients_in(
    migrated_database: DatabaseSettings,
) -> None:
    """The test server has no TLS and listens on 127.0.0.1: clear text on loopback only. With
    the settings the db image's entrypoint passes (here per database), the image's modes."""
    assert "accepted on loopback only (ssl is off" in _clear_text_check(migrated_database)["detail"]
    name = migrated_database.params["dbname"]
    run_sql(migrated_database, f"ALTER DATABASE {name} SET costdb.tls = 'offered'")
    offered = _clear_text_check(migrated_database)
    assert offered["detail"].startswith("accepted on loopback only (COSTDB_TLS=offered")
    run_sql(migrated_database, f"ALTER DATABASE {name} SET costdb.tls = 'required'")
    assert _clear_text_check(migrated_database)["detail"].startswith("refused")
