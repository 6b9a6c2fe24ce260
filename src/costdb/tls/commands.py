"""``costdb secrets init`` and ``costdb tls prepare``: the Compose stack's passwords and CA, and
the db image's TLS files."""

from __future__ import annotations

import os
from pathlib import Path

import click

from costdb.tls.server_files import prepare
from costdb.tls.stack_secrets import ensure_secrets


@click.group()
def secrets() -> None:
    """The Compose stack's passwords."""


@secrets.command("init")
@click.option(
    "--into",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The directory the services read the passwords from (the stack's secrets volume).",
)
@click.option(
    "--from",
    "given",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="A directory of passwords to take instead (./secrets, generate-secrets.sh's).",
)
@click.option(
    "--tls-hostname",
    "tls_hostnames",
    multiple=True,
    envvar="COSTDB_TLS_HOSTNAMES",
    help="A host name (or address) the db certificate names beside db and localhost; "
    "repeat it, or a comma-separated COSTDB_TLS_HOSTNAMES.",
)
def secrets_init(into: Path, given: Path | None, tls_hostnames: tuple[str, ...]) -> None:
    """Make each missing password (32 random letters and digits), keep those already made,
    take those given; never print one. Then the stack's CA and the db certificate."""
    hostnames = tuple(name.strip() for value in tls_hostnames for name in value.split(","))
    for outcome in ensure_secrets(into, given, tuple(name for name in hostnames if name)):
        source = f" from {given}" if outcome.action == "taken" else ""
        click.echo(f"{outcome.action} {outcome.name}{source}")


@click.group()
def tls() -> None:
    """The db image's TLS files (its entrypoint runs this before every start)."""


@tls.command("prepare")
@click.option(
    "--runtime-dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where PostgreSQL reads the certificate and key (private to its OS user).",
)
@click.option(
    "--data-dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    envvar="PGDATA",
    help="The data directory, which keeps a generated CA and certificate.",
)
def tls_prepare(runtime_dir: Path, data_dir: Path) -> None:
    """Check the given certificate and key (COSTDB_TLS_CERT_FILE, _KEY_FILE, _CA_FILE) or
    generate a CA and certificate, and put them where PostgreSQL reads them; change nothing
    when the given files are bad."""
    click.echo(prepare(runtime_dir, data_dir, os.environ))
