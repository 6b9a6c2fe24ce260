"""TLS in the db image, run for real: given certificates checked before the first byte is
written, renewed without a restart, refused in one line when bad; clear-text TCP refused.
(The Compose stack's verify-full clients are in test_containers.py.)"""

from __future__ import annotations

import secrets
import shutil
import socket
import ssl
import struct
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from costdb.local.cluster import free_port
from costdb.settings import DatabaseSettings
from costdb.tls.certificates import Issued, issue_ca, issue_server
from testsupport.cli_runner import clean_environment, run_module
from testsupport.containers import DB_IMAGE, image_options, run, run_detached, wait_for_health
from testsupport.database_actions import encrypted
from testsupport.node_client import npm, run_program

pytestmark = [pytest.mark.docker, pytest.mark.slow]
HOSTS = ["localhost", "127.0.0.1"]


def _served_certificate(port: int) -> bytes:
    """The DER certificate the server presents on ``port`` (PostgreSQL's SSLRequest first)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(struct.pack("!ii", 8, 80877103))
        assert raw.recv(1) == b"S"
        with context.wrap_socket(raw) as tls:
            served = tls.getpeercert(binary_form=True)
            tls.unwrap()
    assert served is not None
    return served


def _der(issued: Issued) -> bytes:
    return ssl.PEM_cert_to_DER_cert(issued.certificate.decode())


def _give(directory: Path, server: Issued, ca: Issued) -> None:
    """Write the pair as a secret store would: each file replaced whole."""
    for name, content, mode in (
        ("tls.key", server.key, 0o600),
        ("tls.crt", server.certificate, 0o644),
        ("ca.crt", ca.certificate, 0o644),
    ):
        partial = directory / f".{name}"
        partial.write_bytes(content)
        partial.chmod(mode)
        partial.rename(directory / name)


@pytest.fixture
def given(tmp_path: Path) -> Path:
    directory = tmp_path / "tls"
    directory.mkdir()
    return directory


TLS_OPTIONS = (
    "--env",
    "COSTDB_TLS_CERT_FILE=/tls/tls.crt",
    "--env",
    "COSTDB_TLS_KEY_FILE=/tls/tls.key",
    "--env",
    "COSTDB_TLS_CA_FILE=/tls/ca.crt",
)


@pytest.fixture
def served(images: None, given: Path) -> Iterator[tuple[str, int, Issued]]:
    """The image with a given pair that has 10 days left, renewals checked every second."""
    ca = issue_ca("test CA")
    _give(given, issue_server(ca, HOSTS, now=datetime.now(UTC) - timedelta(days=387)), ca)
    port = free_port()
    name = run_detached(
        DB_IMAGE,
        "costdb-test-tls",
        *TLS_OPTIONS,
        "--env",
        "COSTDB_TLS_RELOAD_SECONDS=1",
        "--volume",
        f"{given}:/tls:ro",
        "--publish",
        f"127.0.0.1:{port}:5432",
    )
    try:
        wait_for_health(name, "healthy", timeout=120)
        yield name, port, ca
    finally:
        run("docker", "rm", "--force", "--volumes", name)


def _app_on(port: int, **params: str) -> DatabaseSettings:
    """The application role to the image's published ``port``, the server not verified."""
    settings = {
        "host": "127.0.0.1",
        "port": str(port),
        "user": "costdb_app",
        "password": "pw-costdb_app_password",
        "dbname": "costdb",
    }
    return DatabaseSettings(settings | params)


def _app(port: int, given: Path, **params: str) -> DatabaseSettings:
    """The application role over TLS to ``localhost``, verified against the given CA."""
    verified = {"host": "localhost", "sslmode": "verify-full", "sslrootcert": str(given / "ca.crt")}
    return _app_on(port, **(verified | params))


def _probe(port: int, given: Path) -> str:
    readonly = _app(port, given, user="costdb_readonly", password="pw-costdb_readonly_password")
    result = run_module("healthcheck", env=clean_environment(DATABASE_URL=readonly.url))
    assert result.returncode == 0, result.stdout
    return result.stdout


def test_a_renewed_certificate_is_served_without_a_restart_and_a_bad_one_refused(
    served: tuple[str, int, Issued], given: Path
) -> None:
    name, port, ca = served
    with psycopg.connect(_app(port, given).conninfo("test")) as connection:
        started = connection.execute("SELECT pg_postmaster_start_time()").fetchone()
        assert connection.execute(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        ).fetchone() == (True,)
    assert "warning: the server certificate expires in 10 days: renew it" in _probe(port, given)
    clear = _app(port, given, sslmode="disable")
    with pytest.raises(psycopg.OperationalError, match="no encryption"):
        psycopg.connect(clear.conninfo("test")).close()

    renewed = issue_server(ca, HOSTS)
    _give(given, renewed, ca)
    deadline = time.monotonic() + 30
    while _served_certificate(port) != _der(renewed) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _served_certificate(port) == _der(renewed)
    assert "expires in" not in _probe(port, given)

    _give(given, issue_server(ca, HOSTS, now=datetime.now(UTC) - timedelta(days=800)), ca)
    deadline = time.monotonic() + 30
    while "previous certificate keeps serving" not in run("docker", "logs", name).stderr:
        assert time.monotonic() < deadline, run("docker", "logs", name).stderr[-2000:]
        time.sleep(0.5)
    assert _served_certificate(port) == _der(renewed)
    with psycopg.connect(_app(port, given).conninfo("test")) as connection:
        assert connection.execute("SELECT pg_postmaster_start_time()").fetchone() == started
    refused = [
        line for line in run("docker", "logs", name).stderr.splitlines() if "expired" in line
    ]
    assert len(refused) == 1 and "tls.crt expired on" in refused[0]


def test_the_specs_client_connects_verified_and_a_plain_one_is_refused(
    served: tuple[str, int, Issued], given: Path, node_client: Path
) -> None:
    """node-postgres, as the seed's client uses it, with the staging URL of the docs: TLS,
    the server verified against the CA; the same URL without TLS parameters is refused."""
    name, port, _ca = served
    url = f"postgresql://costdb_app:pw-costdb_app_password@localhost:{port}/costdb"
    verified = run_program("seed-client", f"{url}?sslmode=verify-full&sslrootcert={given}/ca.crt")
    assert verified["rejected"]["code"] == "23503" and verified["orphans"] == 0
    refused = npm(
        "run", "--silent", "seed-client", env=clean_environment(DATABASE_URL=url), check=False
    )
    assert refused.returncode == 1, refused.stdout
    server_log = run("docker", "logs", name).stderr
    assert 'no pg_hba.conf entry for host "' in server_log
    assert 'user "costdb_app", database "costdb", no encryption' in server_log


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda d: (d / "tls.key").chmod(0o644), "/tls/tls.key is readable by others (mode 0644)"),
        (lambda d: (d / "tls.crt").unlink(), "certificate /tls/tls.crt: no such file"),
        (
            lambda d: _give(
                d,
                issue_server(issue_ca("x"), HOSTS, now=datetime.now(UTC) - timedelta(days=800)),
                issue_ca("y"),
            ),
            "certificate /tls/tls.crt expired on",
        ),
    ],
)
def test_a_bad_certificate_stops_the_first_start_in_one_line_and_writes_nothing(
    images: None, given: Path, tmp_path: Path, spoil: object, message: str
) -> None:
    ca = issue_ca("test CA")
    _give(given, issue_server(ca, HOSTS), ca)
    spoil(given)  # type: ignore[operator]
    data = tmp_path / "data"
    data.mkdir()
    try:
        result = run(
            "docker",
            "run",
            "--rm",
            *image_options(),
            *TLS_OPTIONS,
            "--volume",
            f"{given}:/tls:ro",
            "--volume",
            f"{data}:/var/lib/postgresql/data",
            DB_IMAGE,
            timeout=120,
        )
        assert result.returncode == 1
        errors = [line for line in result.stderr.splitlines() if "error" in line]
        assert len(errors) == 1 and message in errors[0], result.stderr
        assert list(data.iterdir()) == []  # no half-made volume: nothing was initialised
    finally:
        shutil.rmtree(data, ignore_errors=True)


def test_the_image_alone_refuses_clear_text_until_a_start_offers_it(images: None) -> None:
    """The image's default on TCP is TLS only (its own certificate, generated); the same
    volume started again with COSTDB_TLS=offered lets a plain client in, and the probe warns:
    the server listens on every address and this is not the development stack."""
    volume = f"costdb-test-tls-mode-{secrets.token_hex(4)}"
    port = free_port()
    options = (
        "--volume",
        f"{volume}:/var/lib/postgresql/data",
        "--publish",
        f"127.0.0.1:{port}:5432",
    )
    name = run_detached(DB_IMAGE, "costdb-test-tls-mode", *options)
    try:
        assert "clear-text" not in wait_for_health(name, "healthy", timeout=120)
        with pytest.raises(psycopg.OperationalError, match="no encryption"):
            psycopg.connect(_app_on(port, sslmode="disable").conninfo("test")).close()
        assert encrypted(_app_on(port, sslmode="prefer"))
        run("docker", "rm", "--force", name, check=True)
        name = run_detached(
            DB_IMAGE, "costdb-test-tls-mode", *options, "--env", "COSTDB_TLS=offered"
        )
        output = wait_for_health(name, "healthy", timeout=120)
        assert "warning: clear-text TCP connections are accepted (COSTDB_TLS=offered)" in output
        assert not encrypted(_app_on(port, sslmode="disable"))
        assert encrypted(_app_on(port, sslmode="prefer"))  # TLS is still offered
    finally:
        run("docker", "rm", "--force", name)
        run("docker", "volume", "rm", volume)


def test_a_misspelled_tls_mode_stops_the_start_in_one_line_and_writes_nothing(
    images: None, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    try:
        result = run(
            "docker", "run", "--rm", *image_options(), "--env", "COSTDB_TLS=offerd",
            "--volume", f"{data}:/var/lib/postgresql/data", DB_IMAGE, timeout=120,
        )  # fmt: skip
        assert result.returncode == 1
        assert result.stderr.strip().splitlines() == [
            "costdb: error: COSTDB_TLS is 'offerd': use required (the default: TLS on every TCP"
            " connection), offered (TLS for clients that ask, clear text for the others) or off"
        ]
        assert list(data.iterdir()) == []
    finally:
        shutil.rmtree(data, ignore_errors=True)
