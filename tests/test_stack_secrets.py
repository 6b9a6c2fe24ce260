"""``costdb secrets init``: the Compose stack's passwords made on the first ``up``, kept after,
taken from ``./secrets`` when a user gave them; one line and nothing half-written otherwise."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from costdb.errors import ConfigError
from costdb.exit_codes import ExitCode
from costdb.tls.stack_secrets import ALPHABET, LENGTH, NAMES, ensure_secrets
from testsupport.cli_runner import clean_environment, run_module


def _values(directory: Path) -> dict[str, str]:
    return {name: (directory / name).read_text(encoding="utf-8") for name in NAMES}


def test_the_first_run_makes_every_password_and_the_next_keeps_them(tmp_path: Path) -> None:
    made = ensure_secrets(tmp_path)
    first = _values(tmp_path)
    kept = ensure_secrets(tmp_path)
    assert [o.action for o in made] == ["made"] * 5 and [o.action for o in kept] == ["kept"] * 5
    assert _values(tmp_path) == first
    assert len(set(first.values())) == 4
    for name, value in first.items():
        assert len(value) == LENGTH and set(value) <= set(ALPHABET)
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o444


def test_a_users_own_password_is_taken_instead(tmp_path: Path) -> None:
    into, given = tmp_path / "volume", tmp_path / "secrets"
    into.mkdir()
    given.mkdir()
    ensure_secrets(into)
    (given / "costdb_app_password").write_text("mine-and-long-enough\n", encoding="utf-8")
    outcomes = {o.name: o.action for o in ensure_secrets(into, given)}
    assert outcomes["costdb_app_password"] == "taken"
    assert outcomes["postgres_password"] == "kept"
    assert (into / "costdb_app_password").read_text(encoding="utf-8") == "mine-and-long-enough"


def test_an_empty_given_file_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    into, given = tmp_path / "volume", tmp_path / "secrets"
    into.mkdir()
    given.mkdir()
    ensure_secrets(into)
    before = _values(into)
    (given / "costdb_owner_password").write_text("\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="costdb_owner_password: a password file holds"):
        ensure_secrets(into, given)
    assert _values(into) == before


def test_the_command_prints_what_it_did_never_a_value(tmp_path: Path) -> None:
    result = run_module(
        "costdb", "secrets", "init", "--into", str(tmp_path), env=clean_environment()
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"made {name}" for name in [*NAMES, "tls certificate"]]
    for value in _values(tmp_path).values():
        assert value not in result.stdout + result.stderr
    missing = run_module(
        "costdb", "secrets", "init", "--into", str(tmp_path / "nope"), env=clean_environment()
    )
    assert missing.returncode == ExitCode.MISCONFIGURED
    assert missing.stderr.strip() == (
        f"costdb: error: {tmp_path / 'nope'}: not a directory (the stack's secrets volume)"
    )
