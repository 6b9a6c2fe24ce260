"""What ``costdb backup schedule`` takes when, decided from the repository's own list; and
pgBackRest's failures as one line (the drill runs them for real: test_container_backups.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from costdb.backup.pgbackrest import BackupSet, failure_line
from costdb.backup.schedule import Cadence, due_backup
from costdb.exit_codes import ExitCode
from testsupport.cli_runner import clean_environment, run_module

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)
WEEKLY_DAILY = Cadence(timedelta(days=7), timedelta(days=1))


def _backup(kind: str, hours_ago: float) -> BackupSet:
    started = NOW - timedelta(hours=hours_ago)
    return BackupSet("label", kind, started, started + timedelta(minutes=5), 1, 1, None)


@pytest.mark.parametrize(
    ("backups", "due"),
    [
        ([], "full"),  # a new repository: a full backup first
        ([_backup("full", 2)], None),
        ([_backup("full", 25)], "diff"),
        ([_backup("full", 30), _backup("diff", 5)], None),
        ([_backup("full", 24 * 7), _backup("diff", 5)], "full"),  # a week since the last full
        ([_backup("full", 24 * 6), _backup("diff", 24)], "diff"),
    ],
)
def test_the_due_backup_follows_the_repositorys_own_list(
    backups: list[BackupSet], due: str | None
) -> None:
    assert due_backup(backups, NOW, WEEKLY_DAILY) == due


def test_a_pgbackrest_failure_is_its_last_error_line_without_the_relay_noise() -> None:
    output = (
        "P00   WARN: something harmless\n"
        "P00  ERROR: [029]: raised from local-2 protocol: zst error: [-20] Data corruption"
        " detected\n"
    )
    assert failure_line(output, "pgbackrest restore") == (
        "pgbackrest restore failed: zst error: [-20] Data corruption detected"
        " (pgBackRest error 029)"
    )
    assert failure_line("", "pgbackrest info") == "pgbackrest info failed: no output"


def test_backup_commands_outside_the_db_image_say_where_they_run(tmp_path: Path) -> None:
    """No pgBackRest on this PATH: one line, not a traceback."""
    result = run_module("costdb", "backup", "list", env=clean_environment(PATH=str(tmp_path)))
    assert result.returncode == ExitCode.FAILED
    assert result.stderr.splitlines() == [
        "costdb: error: pgbackrest is not installed here: costdb backup runs in the db image"
    ]
