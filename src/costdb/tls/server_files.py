"""The db image's TLS files: checked, then put where PostgreSQL reads them, before every start
and whenever a given certificate changes on disk.

Two origins:

- **given**: ``COSTDB_TLS_CERT_FILE`` and ``COSTDB_TLS_KEY_FILE`` (both or neither), and
  optionally ``COSTDB_TLS_CA_FILE``, the CA clients trust. Checked (the pair matches, the key is
  not readable by others, the certificate is valid now and issued by the CA) and copied into
  the runtime directory, the key private to the server's OS user: Docker and Kubernetes mount
  secrets with owners and modes PostgreSQL refuses, and a renewed file is swapped in only once
  it passed the same checks, so a bad renewal leaves the good certificate serving.
- **generated** (neither given): at the first start, a private CA and a server certificate for
  this container's host name, ``localhost``, the loopback addresses and ``COSTDB_TLS_HOSTNAMES``;
  kept in the data volume (``$PGDATA/costdb-tls``: the same certificate after every restart,
  and in every backup), the server certificate re-issued by the same CA in its last
  30 days. Clients fetch the CA from ``$PGDATA/costdb-tls/ca.crt``.

The first start has no data volume yet (``initdb`` needs an empty directory), so the generated
files wait in the runtime directory and move into the volume on the next call, once it exists.
"""

from __future__ import annotations

import os
import pwd
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from costdb.file_writes import replace_file
from costdb.tls.certificates import (
    Issued,
    TlsError,
    days_left,
    issue_ca,
    issue_server,
    load_server_pair,
    needs_reissue,
    read_issued,
)

SERVER_USER = "postgres"
KEPT_DIRECTORY = "costdb-tls"
CERTIFICATE, KEY, CA, CA_KEY = "server.crt", "server.key", "ca.crt", "ca.key"


@dataclass(frozen=True)
class GivenFiles:
    """The certificate, key and CA named by the environment."""

    certificate: Path
    key: Path
    ca: Path | None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> GivenFiles | None:
        """The given files, None to generate; a half-given pair is an error."""
        names = ("COSTDB_TLS_CERT_FILE", "COSTDB_TLS_KEY_FILE", "COSTDB_TLS_CA_FILE")
        certificate, key, ca = (environ.get(name) or None for name in names)
        if certificate is None and key is None:
            if ca is not None:
                raise TlsError(
                    "COSTDB_TLS_CA_FILE is set without COSTDB_TLS_CERT_FILE and _KEY_FILE"
                )
            return None
        if certificate is None or key is None:
            missing = "COSTDB_TLS_CERT_FILE" if certificate is None else "COSTDB_TLS_KEY_FILE"
            raise TlsError(f"{missing} is not set: a key needs its certificate, and the reverse")
        return cls(Path(certificate), Path(key), Path(ca) if ca else None)


def _server_ids() -> tuple[int, int] | None:
    """The server's uid and gid when this process (the entrypoint, as root) must hand over."""
    if os.geteuid() != 0:
        return None
    user = pwd.getpwnam(SERVER_USER)
    return user.pw_uid, user.pw_gid


def _write(directory: Path, name: str, content: bytes, mode: int) -> None:
    """Replace ``directory/name`` atomically, owned by the server's user."""
    replace_file(directory / name, content, mode, _server_ids())


def _private_directory(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    ids = _server_ids()
    if ids is not None:
        os.chown(path, *ids)
    path.chmod(0o700)


def _install(runtime: Path, files: Mapping[str, bytes | None]) -> None:
    _private_directory(runtime)
    for name, content in files.items():
        if content is None:
            (runtime / name).unlink(missing_ok=True)
        else:
            _write(runtime, name, content, 0o600 if name.endswith(".key") else 0o644)


def _prepare_given(given: GivenFiles, runtime: Path) -> str:
    pair = load_server_pair(given.certificate, given.key, given.ca)
    _install(runtime, {CERTIFICATE: pair.certificate, KEY: pair.key, CA: pair.ca, CA_KEY: None})
    return f"TLS: certificate {given.certificate}, valid {days_left(pair.leaf):.0f} more days"


def _hostnames(environ: Mapping[str, str]) -> list[str]:
    extra = [name.strip() for name in environ.get("COSTDB_TLS_HOSTNAMES", "").split(",")]
    names = [socket.gethostname(), "localhost", "127.0.0.1", "::1", *extra]
    return list(dict.fromkeys(name for name in names if name))


def _read_issued(directory: Path) -> tuple[Issued, Issued] | None:
    """The CA and server pair kept in ``directory``, if a complete set is there."""
    ca = read_issued(directory, CA, CA_KEY)
    server = read_issued(directory, CERTIFICATE, KEY)
    return (ca, server) if ca is not None and server is not None else None


def _prepare_generated(runtime: Path, data_directory: Path, environ: Mapping[str, str]) -> str:
    kept = data_directory / KEPT_DIRECTORY
    initialised = (data_directory / "PG_VERSION").is_file()
    found = _read_issued(kept) or _read_issued(runtime)
    action = "kept"
    if found is None:
        ca = issue_ca("costdb CA")
        found, action = (ca, issue_server(ca, _hostnames(environ))), "generated"
    ca, server = found
    # Expiry alone: the host name a certificate names is this container's, which the next
    # container on the same volume does not share.
    if needs_reissue(server):
        server, action = issue_server(ca, _hostnames(environ)), "renewed"
    files = {CERTIFICATE: server.certificate, KEY: server.key, CA: ca.certificate, CA_KEY: ca.key}
    _install(runtime, files)
    if initialised and _read_issued(kept) != (ca, server):
        _install(kept, files)
    where = kept if initialised else runtime
    return f"TLS: {action} certificate signed by the CA in {where / CA} (clients verify with it)"


def prepare(runtime: Path, data_directory: Path, environ: Mapping[str, str]) -> str:
    """Make the runtime directory hold a checked server certificate and key (and the CA when
    known); return one line on what was done. Raise ``TlsError`` and change nothing when the
    given files are bad."""
    given = GivenFiles.from_environment(environ)
    try:
        if given is not None:
            return _prepare_given(given, runtime)
        return _prepare_generated(runtime, data_directory, environ)
    except OSError as exc:
        where = exc.filename or runtime
        raise TlsError(f"{where}: cannot write the server's TLS files: {exc.strerror}") from None
