"""Restore into an empty data directory, to a point in time or to the end of the archive, and
finish the recovery there: when this returns, the directory holds a promoted database that
the image starts like any other (``costdb migrate`` then has nothing to do).

Nothing is left half-done: the directory must be empty (a restore never overwrites a
database), the target is checked against the repository's backups before anything is
written, and a restore or recovery that fails empties the directory again. The recovery runs
on a server that listens on no TCP port and accepts no connection until it has promoted
(``hot_standby=off``), so nobody reads a half-recovered database. It hands nothing to the
repository (the database that owns it may still be running): the new timeline's history and
WAL wait in ``pg_wal``, marked for the archive, until the image starts on the directory.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from costdb.backup.pgbackrest import STANZA, BackupError, backup_sets, program, run

log = logging.getLogger("costdb")
RECOVERY_SECONDS = 6 * 3600


def _require_empty(directory: Path) -> None:
    if directory.exists() and any(p.name != "lost+found" for p in directory.iterdir()):
        raise BackupError(
            f"{directory} is not empty: restore into a new, empty volume (nothing was changed)"
        )


def _empty(directory: Path) -> None:
    for path in directory.iterdir():
        if path.name == "lost+found":
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def _check_target(target: datetime | None, now: datetime) -> list[str]:
    """pgBackRest's options for ``target`` (None: the end of the archive), once the repository
    has a backup that ends before it."""
    backups = backup_sets(timeout=60)
    if not backups:
        raise BackupError("the repository holds no backup: nothing to restore")
    if target is None:
        return []
    # pgBackRest keeps whole seconds: a target within the second a backup ended may not be
    # after it, so the earliest reachable time is the next second.
    earliest = backups[0].finished_at + timedelta(seconds=1)
    if target < earliest:
        raise BackupError(
            f"{target.isoformat()} is before the end of the first backup: the earliest time a "
            f"restore can reach is {earliest.isoformat()}"
        )
    if target > now:
        raise BackupError(f"{target.isoformat()} is in the future")
    # pgBackRest and PostgreSQL both read this form (not ISO's "T").
    instant = target.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")
    return ["--type=time", f"--target={instant}", "--target-action=promote"]


def _pg_ctl(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [program("pg_ctl"), *args], capture_output=True, text=True, check=False, timeout=timeout
    )


def _fatal_line(log_file: Path) -> str | None:
    logged = log_file.read_text(errors="replace").splitlines() if log_file.exists() else []
    fatal = [line.split("FATAL:")[-1].strip() for line in logged if "FATAL:" in line]
    return fatal[-1] if fatal else None


def _wait_until_promoted(directory: Path, log_file: Path) -> None:
    """Until the server says "ready" in postmaster.pid (what a promoted server says; a server
    still recovering says "starting" or "standby", which is all ``pg_ctl start --wait`` waits
    for); a server that exits on the way says why in its log."""
    pid_file = directory / "postmaster.pid"
    deadline = time.monotonic() + RECOVERY_SECONDS
    while time.monotonic() < deadline:
        try:
            lines = pid_file.read_text().splitlines()
        except FileNotFoundError:
            reason = _fatal_line(log_file) or "the server stopped during the recovery"
            raise BackupError(f"the recovery did not finish: {reason}") from None
        if len(lines) >= 8 and lines[7].strip() == "ready":
            return
        time.sleep(0.2)
    raise BackupError(f"the recovery did not finish within {RECOVERY_SECONDS} s")


def _finish_recovery(directory: Path, log_file: Path) -> None:
    """Replay the archive up to the target on a private server, promote, stop cleanly."""
    with tempfile.TemporaryDirectory(prefix="costdb-restore-") as sockets:
        options = (
            f"-c listen_addresses='' -c unix_socket_directories='{sockets}'"
            " -c hot_standby=off -c archive_mode=on -c archive_command=''"
        )
        data = str(directory)
        started = _pg_ctl(
            "start", "--wait", "-D", data, "-l", str(log_file), "-o", options, timeout=600
        )
        try:
            if started.returncode != 0:
                reason = _fatal_line(log_file) or started.stderr.strip() or "pg_ctl start failed"
                raise BackupError(f"the recovery did not finish: {reason}")
            _wait_until_promoted(directory, log_file)
        finally:
            stopped = _pg_ctl("stop", "--wait", "-m", "fast", "-D", data, timeout=600)
        if stopped.returncode != 0:
            raise BackupError(f"the recovered server did not stop: {stopped.stderr.strip()}")


def restore(directory: Path, target: datetime | None) -> str:
    """Restore and recover into ``directory``; return one line on what it holds now."""
    _require_empty(directory)
    options = _check_target(target, datetime.now(UTC))
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    try:
        # On the command line, not in the environment: pgBackRest writes the restore_command
        # the recovery runs with from these options.
        locate = [f"--stanza={STANZA}", f"--pg1-path={directory}"]
        run(*locate, *options, "restore", timeout=RECOVERY_SECONDS)
        with tempfile.TemporaryDirectory(prefix="costdb-restore-log-") as logs:
            _finish_recovery(directory, Path(logs) / "recovery.log")
    except BaseException:
        _empty(directory)
        raise
    reached = f"to {target.isoformat()}" if target else "to the end of the archive"
    return f"restored {reached} into {directory}; start the image on it"
