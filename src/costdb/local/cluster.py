"""A PostgreSQL cluster run from the machine's own binaries: for tests and ``costdb local``.

PostgreSQL refuses to run as root, so when this process is root the server runs as an
unprivileged OS user (``postgres`` by default) that owns the data directory. The server listens
on 127.0.0.1 only, with password (SCRAM) authentication over TCP, so that a wrong password fails
as it would in production. Its Unix socket lives in the cluster's own 0700 directory and trusts
local connections, as the official image does: only the server's OS user (and root) reach it.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from costdb.errors import CostdbError
from costdb.settings import DatabaseSettings

PROVISION_HINT = "install it with: sudo scripts/provision-postgres.sh (Debian 12 and 13)"
_START_TIMEOUT_SECONDS = 60
_ORPHAN_WAIT_SECONDS = 15


class ClusterError(CostdbError):
    """The local PostgreSQL could not be found, initialised, started or stopped."""


@dataclass(frozen=True)
class PostgresBinaries:
    """The server programs of one PostgreSQL installation that has the pgvector extension."""

    bindir: Path
    sharedir: Path

    def program(self, name: str) -> str:
        return str(self.bindir / name)


def _candidate_bindirs(environ: Mapping[str, str]) -> Iterator[Path]:
    """``COSTDB_PG_BINDIR`` alone if set; else Debian's layout (newest first), PATH, pg_config."""
    if "COSTDB_PG_BINDIR" in environ:
        yield Path(environ["COSTDB_PG_BINDIR"])
        return
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    yield from debian
    on_path = shutil.which("postgres")
    if on_path:
        yield Path(on_path).resolve().parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        reported = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False, timeout=10
        )
        if reported.returncode == 0 and reported.stdout.strip():
            yield Path(reported.stdout.strip())


def _sharedir_of(bindir: Path) -> Path:
    # Debian: /usr/lib/postgresql/NN/bin -> /usr/share/postgresql/NN; elsewhere <prefix>/share.
    debian = Path("/usr/share/postgresql") / bindir.parent.name
    if bindir.parent.parent == Path("/usr/lib/postgresql") and debian.is_dir():
        return debian
    for candidate in (bindir.parent / "share" / "postgresql", bindir.parent / "share"):
        if (candidate / "extension").is_dir():
            return candidate
    return debian


def find_binaries(environ: Mapping[str, str] | None = None) -> PostgresBinaries:
    """Find the newest PostgreSQL server that has pgvector (``COSTDB_PG_BINDIR`` overrides)."""
    env = os.environ if environ is None else environ
    seen: list[str] = []
    for bindir in _candidate_bindirs(env):
        if not (bindir / "postgres").is_file():
            continue
        sharedir = _sharedir_of(bindir)
        if (sharedir / "extension" / "vector.control").is_file():
            return PostgresBinaries(bindir, sharedir)
        seen.append(str(bindir))
    if seen:
        raise ClusterError(
            f"PostgreSQL found ({', '.join(seen)}) but without the pgvector extension; "
            + PROVISION_HINT
        )
    raise ClusterError("no PostgreSQL server binaries found; " + PROVISION_HINT)


def long_options(**options: str) -> list[str]:
    """``--name value`` for each option, in order (``auth_host`` becomes ``--auth-host``)."""
    return [
        part for name, value in options.items() for part in (f"--{name.replace('_', '-')}", value)
    ]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PostgresCluster:
    """One data directory and the server that runs on it.

    ``root`` holds ``data/`` (the cluster), ``socket/`` and ``server.log``. ``server_settings``
    are extra ``-c name=value`` server settings (tests turn durability off for speed).
    """

    root: Path
    port: int
    superuser_password: str
    binaries: PostgresBinaries
    superuser: str = "postgres"
    os_user: str | None = field(default_factory=lambda: "postgres" if os.geteuid() == 0 else None)
    server_settings: Mapping[str, str] = field(default_factory=dict)

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    def settings(self, database: str = "postgres") -> DatabaseSettings:
        """How the superuser reaches ``database`` over TCP."""
        return DatabaseSettings(
            {
                "host": "127.0.0.1",
                "port": str(self.port),
                "user": self.superuser,
                "password": self.superuser_password,
                "dbname": database,
            }
        )

    def socket_settings(self, database: str = "postgres") -> DatabaseSettings:
        """How the superuser reaches ``database`` over the Unix socket (no password)."""
        return DatabaseSettings(
            {
                "host": str(self.socket_dir),
                "port": str(self.port),
                "user": self.superuser,
                "dbname": database,
            }
        )

    def run_as_server_user(
        self,
        args: list[str],
        env: Mapping[str, str] | None = None,
        *,
        stdin: bytes | None = None,
        timeout: float = 600,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run a program as the server's OS user, in the cluster's directory; never raises on
        a non-zero exit. The server programs refuse a working directory they cannot read."""
        return subprocess.run(
            args,
            user=self.os_user,
            env=dict(env) if env is not None else {**os.environ, "LC_ALL": "C.UTF-8", "TZ": "UTC"},
            input=stdin,
            capture_output=True,
            check=False,
            timeout=timeout,
            cwd=cwd or self.root,
        )

    def chown_to_server_user(self, path: Path) -> None:
        if self.os_user is not None:
            entry = pwd.getpwnam(self.os_user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    @property
    def is_initialised(self) -> bool:
        return (self.datadir / "PG_VERSION").is_file()

    def _run(self, *args: str, timeout: float = _START_TIMEOUT_SECONDS) -> None:
        """Run a server program; a failure or a timeout is a ``ClusterError`` naming it."""
        try:
            result = self.run_as_server_user(list(args), timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ClusterError(f"{Path(args[0]).name} did not finish in {timeout:.0f} s") from None
        if result.returncode != 0:
            output = (result.stderr or result.stdout).decode(errors="replace")
            detail = output.strip().splitlines()
            reason = detail[-1] if detail else f"exit code {result.returncode}"
            raise ClusterError(f"{Path(args[0]).name} failed: {reason}")

    def _make_owned_directory(self, path: Path) -> None:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.chown_to_server_user(path)

    def _require_reachable_by_server_user(self) -> None:
        if self.os_user is None:
            return
        reachable = self.run_as_server_user(
            ["/bin/sh", "-c", 'test -w "$1"', "sh", str(self.root)], timeout=10, cwd=Path("/")
        )
        if reachable.returncode != 0:
            raise ClusterError(
                f"the {self.os_user} OS user the server runs as cannot write {self.root} "
                "(a parent directory is private?); choose a directory it can reach"
            )

    def initialise(self) -> None:
        """``initdb`` an empty data directory: UTF-8, SCRAM over TCP, trust on the socket."""
        self._make_owned_directory(self.root)
        self._require_reachable_by_server_user()
        password_file = self.root / "superuser.pw"
        password_file.write_text(self.superuser_password + "\n", encoding="utf-8")
        password_file.chmod(0o600)
        self.chown_to_server_user(password_file)
        try:
            self._run(
                self.binaries.program("initdb"),
                *long_options(
                    pgdata=str(self.datadir),
                    username=self.superuser,
                    pwfile=str(password_file),
                    auth_host="scram-sha-256",
                    auth_local="trust",
                    encoding="UTF8",
                    locale="C.UTF-8",
                ),
            )
        finally:
            password_file.unlink(missing_ok=True)

    def start(self, *, listen_tcp: bool = True) -> None:
        """Start the server and wait until it accepts connections.

        ``listen_tcp=False`` listens on the Unix socket only, as the official image's entrypoint
        does while init scripts run: nothing outside can connect, or see the server as ready.
        """
        self._make_owned_directory(self.socket_dir)
        self._wait_for_orphans_of_a_killed_server()
        options = {
            "port": str(self.port),
            "listen_addresses": "127.0.0.1" if listen_tcp else "''",
            "unix_socket_directories": str(self.socket_dir),
            **self.server_settings,
        }
        server_options = " ".join(f"-c {name}={value}" for name, value in options.items())
        try:
            self._run(
                self.binaries.program("pg_ctl"),
                "start",
                "--wait",
                *long_options(
                    pgdata=str(self.datadir),
                    log=str(self.log_file),
                    timeout=str(_START_TIMEOUT_SECONDS),
                    options=server_options,
                ),
                timeout=_START_TIMEOUT_SECONDS + 5,
            )
        except ClusterError:
            raise ClusterError(
                f"PostgreSQL did not start: {self._last_server_error()} (log: {self.log_file})"
            ) from None

    def _last_server_error(self) -> str:
        try:
            lines = self.log_file.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return "no server log"
        errors = [line for line in lines if re.search(r"\b(FATAL|PANIC|ERROR):", line)]
        hints = [line for line in lines if "HINT:" in line]
        chosen = (errors or lines or ["empty server log"])[-1]
        message = re.sub(r"^.*?\b(FATAL|PANIC|ERROR|LOG):\s+", "", chosen)
        if hints and "could not create any TCP/IP sockets" in message:
            message = re.sub(r"^.*HINT:\s+", "", hints[-1])
        return message

    def _server_processes(self) -> list[int]:
        """Processes working in the data directory: a server's postmaster and backends (Linux:
        their working directory is the data directory); empty where /proc cannot tell."""
        found = []
        for entry in Path("/proc").glob("[0-9]*"):
            try:
                if Path(os.readlink(entry / "cwd")) == self.datadir.resolve():
                    found.append(int(entry.name))
            except OSError:
                continue
        return found

    def _wait_for_orphans_of_a_killed_server(self) -> None:
        """A server killed with SIGKILL leaves backends that hold its shared memory until they
        notice (within moments, longer on a busy machine), and a postmaster not yet reaped by
        its parent still "exists" for the lock file's check; a new postmaster started before
        they are gone refuses to run. Wait for them, boundedly, when the server is not running."""
        deadline = time.monotonic() + _ORPHAN_WAIT_SECONDS
        while (self._server_processes() or self._postmaster_is_a_zombie()) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.1)

    def _postmaster_is_a_zombie(self) -> bool:
        """The lock file's postmaster has exited but is not reaped yet (Linux: state Z)."""
        try:
            pid = (self.datadir / "postmaster.pid").read_text(encoding="utf-8").split()[0]
            stat = Path(f"/proc/{int(pid)}/stat").read_text(encoding="utf-8")
        except (OSError, ValueError, IndexError):
            return False
        return stat.rpartition(")")[2].split()[:1] == ["Z"]

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: roll back open transactions, then shut down cleanly)."""
        self._run(
            self.binaries.program("pg_ctl"),
            "stop",
            "--wait",
            *long_options(pgdata=str(self.datadir), mode=mode),
        )

    @property
    def is_running(self) -> bool:
        """``pg_ctl status``, except that a killed postmaster not yet reaped (which ``pg_ctl``
        still sees) is not running: it accepts nothing."""
        status = [self.binaries.program("pg_ctl"), "status", "--pgdata", str(self.datadir)]
        answered = self.run_as_server_user(status, timeout=10).returncode == 0
        return answered and not self._postmaster_is_a_zombie()
