"""The one exit-code contract of every costdb command and of the health probe.

Orchestrators and scripts branch on these numbers, so they are defined once, here, each with
the sentence that documents it: ``costdb migrate --help`` and the table in docs/commands.md
are checked against these descriptions by a test.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Why a costdb command or the probe ended; ``description`` is the documented meaning."""

    description: str

    def __new__(cls, value: int, description: str) -> ExitCode:
        member = int.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member

    OK = 0, "success: the database is at head and the schema verified (the probe: healthy)"
    FAILED = (
        1,
        "a migration failed (rolled back: the database stays at the last good revision), the "
        "Citus distribution step failed (rolled back: nothing moved), the database failed "
        "mid-run, or (the probe) the schema is unhealthy",
    )
    MISCONFIGURED = (
        2,
        "misconfigured: environment, wrong password, missing role or database (not retried)",
    )
    DATABASE_NEWER = 3, "the database is at a revision newer than this code"
    SCRIPT_CHANGED = (
        4,
        "an applied migration's script changed since it was applied (nothing is applied)",
    )
    NOT_REACHABLE = 5, "the database did not accept connections within --wait"
    LOCK_TIMEOUT = 6, "another runner held the migration lock longer than --lock-timeout"
    SCHEMA_INCOMPLETE = (
        7,
        "after the upgrade the schema differs from what the migrations create (an object "
        "missing, invalid, or of another definition)",
    )
