"""``costdb local``: the whole stack natively, for machines without a container engine.

The same files and steps as the Compose stack: a PostgreSQL with pgvector initialised by the
very same ``initdb/`` scripts (official-image semantics, socket-only while they run), then
``costdb migrate`` as the owner role, then the health server as the read-only role.

Everything lives in one project-local directory (``.costdb/``; ``COSTDB_LOCAL_DIR`` moves
it): the cluster, its log, the role passwords (generated on first ``up`` unless
``COSTDB_*_PASSWORD[_FILE]`` give them) and one ``<role>.url`` file per role, for
``DATABASE_URL_FILE``. A failed first ``up`` removes the half-initialised data directory it
had just created (nothing else ever does), so the next ``up`` initialises again instead of
running on a database the scripts never finished.

``up`` and ``down`` hold a lock on the directory while they change anything, so two of them
never race (two first ``up``s: the second waits, then finds the stack running). The health
server's pid file is trusted only while that pid is this stack's health server: a second
``up`` reuses a running stack, and ``down`` stops only what really runs.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from costdb import defaults
from costdb.db.connection import open_connection
from costdb.errors import ConfigError, CostdbError
from costdb.local.cluster import PostgresCluster, find_binaries
from costdb.local.init_scripts import init_environment, run_init_scripts
from costdb.paths import PRIVILEGES_SCRIPT, initdb_folder
from costdb.settings import DatabaseSettings, read_variable

DATABASE_NAME = "costdb"
ROLES = {"owner": "costdb_owner", "app": "costdb_app", "readonly": "costdb_readonly"}
SUPERUSER_PASSWORD_FILE = "superuser.password"  # noqa: S105  (a file name, not a password)
_HEALTH_START_SECONDS = 20
log = logging.getLogger("costdb.local")


def _port(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, str(default))
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigError(f"{name} must be a port number (1-65535), got {raw!r}")
    return int(raw)


def _write_private(path: Path, content: str) -> None:
    path.write_text(content + "\n", encoding="utf-8")
    path.chmod(0o600)


@dataclass(frozen=True)
class Started:
    """With ``detach``, what ``LocalStack.up`` left serving health: its pid, and whether it was
    already running (``health_pid`` is None in the foreground: ``serve_foreground`` follows)."""

    health_pid: int | None = None
    health_was_running: bool = False


@dataclass(frozen=True)
class Status:
    """What runs: PostgreSQL (and where), the health server (pid, ``/readyz`` status)."""

    database: DatabaseSettings | None
    health_pid: int | None
    ready: int | None


@dataclass(frozen=True)
class LocalStack:
    """The local cluster, its init scripts, and the files that say how to reach it."""

    cluster: PostgresCluster
    scripts: Path
    health_port: int
    environ: Mapping[str, str]

    @property
    def root(self) -> Path:
        return self.cluster.root

    @property
    def secrets_dir(self) -> Path:
        return self.root / "secrets"

    @property
    def health_pid_file(self) -> Path:
        return self.root / "health.pid"

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.health_port}"

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the directory's lock: one ``up`` or ``down`` at a time changes this stack."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def url_file(self, role: str) -> Path:
        return self.root / f"{role}.url"

    def role_settings(self, role: str) -> DatabaseSettings:
        password_file = self.secrets_dir / f"{ROLES[role]}.password"
        password = password_file.read_text(encoding="utf-8").strip()
        return self.cluster.settings(DATABASE_NAME).with_params(user=ROLES[role], password=password)

    # -- first boot --------------------------------------------------------------------------

    def _role_secrets(self) -> dict[str, str]:
        """Environment for the init scripts: the user's password variables, else generated files.

        Generated (or given) passwords are kept under ``secrets/`` for later ``up`` runs.
        """
        self.secrets_dir.mkdir(mode=0o700, exist_ok=True)
        self.cluster.chown_to_server_user(self.secrets_dir)
        passed: dict[str, str] = {}
        for role_name in ROLES.values():
            variable = f"{role_name.upper()}_PASSWORD"
            given = {
                k: self.environ[k] for k in (variable, f"{variable}_FILE") if k in self.environ
            }
            stored = self.secrets_dir / f"{role_name}.password"
            if given:
                passed |= given  # as given: the init script itself checks them
                try:
                    value = read_variable(variable, self.environ)
                except ConfigError:
                    continue  # both set, or unreadable: the init script reports it by name
            else:
                value = secrets.token_urlsafe(24)
                passed[f"{variable}_FILE"] = str(stored)
            if value:
                _write_private(stored, value)
                self.cluster.chown_to_server_user(stored)
        return passed

    def _initialise(self) -> None:
        self.cluster.initialise()
        _write_private(self.root / SUPERUSER_PASSWORD_FILE, self.cluster.superuser_password)
        try:
            env = init_environment(
                self.cluster, DATABASE_NAME, {**os.environ, **self._role_secrets()}
            )
            self.cluster.start(listen_tcp=False)
            admin = self.cluster.socket_settings()
            with open_connection(admin, "costdb-local") as connection:
                connection.execute(f'CREATE DATABASE "{DATABASE_NAME}"'.encode())
            run_init_scripts(self.cluster, self.scripts, env)
            self.cluster.stop()
        except BaseException:
            if self.cluster.is_running:
                self.cluster.stop(mode="immediate")
            shutil.rmtree(self.cluster.datadir, ignore_errors=True)
            shutil.rmtree(self.secrets_dir, ignore_errors=True)
            (self.root / SUPERUSER_PASSWORD_FILE).unlink(missing_ok=True)
            raise

    # -- lifecycle ---------------------------------------------------------------------------

    def start_database(self) -> bool:
        """Initialise on first use, then start on 127.0.0.1; return whether it was initialised."""
        created = not self.cluster.is_initialised
        if created:
            self._initialise()
        if not self.cluster.is_running:
            self.cluster.start()
        if not created:
            self._apply_privileges()
        for role in ROLES:
            _write_private(self.url_file(role), self.role_settings(role).url)
        return created

    def _apply_privileges(self) -> None:
        """The grants again on a stack made earlier, as the db image does on every start: a
        stack an earlier release made gets a grant added since."""
        script = self.scripts / PRIVILEGES_SCRIPT
        if not script.is_file():  # COSTDB_INITDB_DIR without it: the user's own scripts
            return
        # Over the socket (trusted, as at the first boot): a racing `up` that loaded the stack
        # before another one initialised it does not know the superuser's password.
        socket = self.cluster.socket_settings(DATABASE_NAME)
        with open_connection(socket, "costdb-local") as connection:
            connection.execute(script.read_bytes())

    def up(self, migrate: Callable[[DatabaseSettings], object], *, detach: bool) -> Started:
        """Under the directory's lock: initialise on first use, start PostgreSQL, ``migrate``
        as the owner role, and with ``detach`` start the health server in the background (or
        find it running). Without ``detach`` a health server already serving this stack is an
        error: ``serve_foreground`` follows. Interrupted (Ctrl-C, SIGTERM), it stops what runs.

        ``migrate`` is the caller's (``costdb migrate``'s sidecar): the local stack and the
        migration runner do not import each other."""
        try:
            with self.exclusive():  # one up or down at a time on this directory
                running = self.health_pid()
                if running is not None and not detach:
                    raise CostdbError(
                        f"this stack already runs (health server pid {running}): "
                        "`costdb local down` stops it"
                    )
                created = self.start_database()
                owner = self.role_settings("owner")
                log.info(
                    "%s PostgreSQL at 127.0.0.1:%d, database %s",
                    "initialised and started" if created else "started",
                    owner.port,
                    owner.dbname,
                )
                migrate(owner)
                if not detach:
                    return Started()
                pid = self.start_health_detached()
                return Started(pid, health_was_running=pid == running)
        except KeyboardInterrupt:
            with self.exclusive():
                self.down()
            raise

    def serve_foreground(self) -> None:
        """Serve health in this process until SIGINT/SIGTERM, then stop PostgreSQL too
        (also when serving fails or is interrupted before it began)."""
        try:
            self._serve_health()
        finally:
            self.health_pid_file.unlink(missing_ok=True)
            with self.exclusive():
                self.down()

    def _serve_health(self) -> None:
        # Only the foreground serves in this process: the server's modules load here.
        from costdb.health.kept_connection import KeptConnectionProber  # noqa: PLC0415
        from costdb.health.server import CannotListen, ServerOptions, run_server  # noqa: PLC0415
        from costdb.verify.manifest import load_manifest  # noqa: PLC0415

        timeout = defaults.HEALTH_TIMEOUT_SECONDS
        readonly = self.role_settings("readonly")
        prober = KeptConnectionProber(readonly, load_manifest(), timeout=timeout)
        options = ServerOptions(host="127.0.0.1", port=self.health_port, timeout=timeout)

        def listening() -> None:
            self.health_pid_file.write_text(f"{os.getpid()}\n", encoding="utf-8")

        try:
            run_server(prober, options, on_listening=listening)
        except CannotListen as exc:
            raise CostdbError(f"{exc} (COSTDB_LOCAL_HEALTH_PORT chooses another port)") from None

    def status(self) -> Status:
        """What runs now; the database's settings (as the owner) only while it runs."""
        running = self.cluster.is_initialised and self.cluster.is_running
        pid = self.health_pid()
        return Status(
            self.role_settings("owner") if running else None,
            pid,
            self.health_status("/readyz") if pid else None,
        )

    def health_environment(self) -> dict[str, str]:
        environment = {
            k: v for k, v in os.environ.items() if not k.startswith(("PG", "DATABASE_URL"))
        }
        return environment | {"DATABASE_URL_FILE": str(self.url_file("readonly"))}

    def start_health_detached(self) -> int:
        """Start the health server in the background (or find it running); return its pid."""
        running = self.health_pid()
        if running is not None:
            return running
        log_file = (self.root / "health.log").open("ab")
        command = ["serve", "--host", "127.0.0.1", "--port", str(self.health_port)]
        process = subprocess.Popen(
            [sys.executable, "-m", "healthcheck", *command],
            env=self.health_environment(),
            stdout=log_file,
            stderr=log_file,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log_file.close()
        self.health_pid_file.write_text(f"{process.pid}\n", encoding="utf-8")
        deadline = time.monotonic() + _HEALTH_START_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.health_pid_file.unlink(missing_ok=True)
                raise CostdbError(
                    f"the health server exited at start: {self._last_health_line()} "
                    f"(log: {self.root / 'health.log'})"
                )
            if self.health_status("/livez") == 200:
                return process.pid
            time.sleep(0.1)
        raise CostdbError(f"the health server did not answer on {self.health_url} in time")

    def health_status(self, path: str) -> int | None:
        """The HTTP status of a health endpoint, or None when nothing answers."""
        try:
            with urllib.request.urlopen(self.health_url + path, timeout=5) as response:  # noqa: S310
                return int(response.status)
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return None

    def _last_health_line(self) -> str:
        try:
            lines = (self.root / "health.log").read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return lines[-1] if lines else "no output"

    def health_pid(self) -> int | None:
        """The pid serving health for this stack, if that process still runs and is it.

        A pid file can outlive its process, and the pid be reused: the process must be a
        health server on this stack's port (its command line says so), or it is not ours.
        """
        try:
            pid = int(self.health_pid_file.read_text(encoding="utf-8").strip())
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                arguments = cmdline.read().split(b"\0")
        except (OSError, ValueError):
            return None
        detached = b"healthcheck" in arguments and str(self.health_port).encode() in arguments
        foreground = b"local" in arguments and b"up" in arguments  # `costdb local up` serves
        return pid if detached or foreground else None

    def down(self) -> list[str]:
        """Stop the health server and the database; the data stays. Return what was stopped."""
        stopped = []
        pid = self.health_pid()
        if pid is not None and pid != os.getpid():
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _exists(pid) and time.monotonic() < deadline:  # until it is gone, reaped
                time.sleep(0.05)
            stopped.append("health server")
        self.health_pid_file.unlink(missing_ok=True)
        if self.cluster.is_initialised and self.cluster.is_running:
            self.cluster.stop()
            stopped.append("PostgreSQL")
        return stopped


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def load_local_stack(environ: Mapping[str, str] | None = None) -> LocalStack:
    """The local stack the environment describes."""
    env = os.environ if environ is None else environ
    root = Path(env.get("COSTDB_LOCAL_DIR", defaults.LOCAL_DIRECTORY)).resolve()
    superuser_file = root / SUPERUSER_PASSWORD_FILE
    password = (
        superuser_file.read_text(encoding="utf-8").strip()
        if superuser_file.is_file()
        else secrets.token_urlsafe(24)
    )
    cluster = PostgresCluster(
        root=root,
        port=_port(env, "COSTDB_LOCAL_PORT", defaults.LOCAL_PORT),
        superuser_password=password,
        binaries=find_binaries(env),
    )
    scripts = Path(env.get("COSTDB_INITDB_DIR", initdb_folder()))
    if not scripts.is_dir():
        raise ConfigError(f"init scripts not found: {scripts} (set COSTDB_INITDB_DIR)")
    return LocalStack(
        cluster=cluster,
        scripts=scripts,
        health_port=_port(env, "COSTDB_LOCAL_HEALTH_PORT", defaults.HEALTH_PORT),
        environ=env,
    )
