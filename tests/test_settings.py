"""Configuration from the environment: every bad input is one clear line, never a password."""

from __future__ import annotations

from pathlib import Path

import pytest

from costdb.errors import ConfigError
from costdb.settings import load_settings, read_variable

SECRET = "s3cr3t-Pa55"


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "postgresql+psycopg"])
def test_database_url_is_parsed_by_libpq(scheme: str) -> None:
    settings = load_settings(
        {"DATABASE_URL": f"{scheme}://app:{SECRET}@db:6543/costdb?sslmode=require"}
    )
    assert (settings.host, settings.port, settings.dbname, settings.user) == (
        "db",
        6543,
        "costdb",
        "app",
    )
    assert settings.password == SECRET
    assert settings.params["sslmode"] == "require"
    assert settings.safe_url == "postgresql://app:***@db:6543/costdb?sslmode=require"
    assert settings.target == "db:6543/costdb"


def test_the_full_url_round_trips_special_characters() -> None:
    password = "p@ss:w/rd%"
    settings = load_settings(
        {"PGHOST": "db", "PGUSER": "app", "PGDATABASE": "d", "PGPASSWORD": password}
    )
    assert load_settings({"DATABASE_URL": settings.url}).password == password
    assert password not in settings.safe_url


def test_libpq_variables_build_the_url_with_port_5432_by_default() -> None:
    settings = load_settings(
        {"PGHOST": "db", "PGUSER": "app", "PGDATABASE": "costdb", "PGPASSWORD": SECRET}
    )
    assert settings.url == f"postgresql://app:{SECRET}@db:5432/costdb"


def test_database_url_wins_over_libpq_variables() -> None:
    settings = load_settings({"DATABASE_URL": "postgresql://a@h/d", "PGHOST": "other"})
    assert settings.host == "h"


def test_password_file_is_read_without_its_trailing_newline(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text(SECRET + "\n")
    env = {"PGHOST": "db", "PGUSER": "app", "PGDATABASE": "d", "PGPASSWORD_FILE": str(secret)}
    assert load_settings(env).password == SECRET


def test_database_url_file_is_read(tmp_path: Path) -> None:
    secret = tmp_path / "url"
    secret.write_text(f"postgresql://app:{SECRET}@db/costdb\n")
    assert load_settings({"DATABASE_URL_FILE": str(secret)}).password == SECRET


def _write(tmp_path: Path, content: bytes) -> str:
    path = tmp_path / "secret"
    path.write_bytes(content)
    return str(path)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "no database configured: set DATABASE_URL"),
        ({"PGHOST": "db"}, "missing: PGUSER, PGDATABASE"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL has scheme 'none'"),
        ({"DATABASE_URL": f"postgresql://u:{SECRET}@h/d?bogus=1"}, "invalid URI query parameter"),
        ({"DATABASE_URL": f"mysql://u:{SECRET}@h/d"}, "scheme 'mysql'"),
        ({"DATABASE_URL": f"postgresql://u:{SECRET}@h:port/d"}, "port that is not a number"),
        ({"DATABASE_URL": f"postgresql://u:{SECRET}@h"}, "names no database"),
        ({"PGHOST": "h", "PGUSER": "u", "PGDATABASE": "d", "PGPORT": "99999"}, "PGPORT has a port"),
        (
            {"PGHOST": "h", "PGUSER": "u", "PGDATABASE": "d", "PGPASSWORD": SECRET}
            | {"PGPASSWORD_FILE": "/x"},
            "both PGPASSWORD and PGPASSWORD_FILE",
        ),
        ({"DATABASE_URL_FILE": "/nonexistent/secret"}, "no such file: /nonexistent/secret"),
    ],
)
def test_bad_configuration_is_one_clear_line_without_the_password(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        load_settings(environ)
    assert "\n" not in str(raised.value)
    assert SECRET not in str(raised.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\n", "is empty"),
        (b"line one\nline two\n", "holds more than one line"),
        (b"\xff\xfe\x00", "not UTF-8 text"),
    ],
)
def test_malformed_secret_files_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    environ = {"PGPASSWORD_FILE": _write(tmp_path, content)}
    with pytest.raises(ConfigError, match=message):
        read_variable("PGPASSWORD", environ)


def test_unreadable_secret_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        read_variable("PGPASSWORD", {"PGPASSWORD_FILE": str(tmp_path)})  # a directory


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://costdb_owner:S3cret%zz@127.0.0.1:5432/costdb",
        "postgresql://costdb_owner@127.0.0.1:5432/costdb?password=S3cret%zz",
        "postgresql://costdb_owner:S3cret%41%zz@127.0.0.1/costdb",
        "postgresql://costdb_owner:S3cret word@127.0.0.1/costdb",
        "postgresql://costdb_owner:S3cret@[::1/costdb",
        "postgresql://costdb_owner:S3cret@127.0.0.1/costdb?sslmode=require&password=S3cret%zz",
    ],
)
def test_a_malformed_url_is_refused_without_quoting_its_password(url: str) -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL is not a valid PostgreSQL URL") as error:
        load_settings({"DATABASE_URL": url})
    assert "S3cret" not in str(error.value)
    assert "%zz" not in str(error.value)
