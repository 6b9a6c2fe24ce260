"""When the next backup is due, and of which kind: decided from the repository's own list of
backups, so that a restarted scheduler (or a second one) neither repeats nor skips one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from costdb.backup.pgbackrest import BackupSet


@dataclass(frozen=True)
class Cadence:
    """A full backup every ``full_every``; a differential (changes since that full) whenever
    the newest backup is older than ``diff_every``."""

    full_every: timedelta
    diff_every: timedelta


def due_backup(backups: list[BackupSet], now: datetime, cadence: Cadence) -> str | None:
    """``full``, ``diff`` or None (nothing due) for backups listed oldest first."""
    fulls = [backup for backup in backups if backup.type == "full"]
    if not fulls or now - fulls[-1].started_at >= cadence.full_every:
        return "full"
    if now - backups[-1].started_at >= cadence.diff_every:
        return "diff"
    return None
