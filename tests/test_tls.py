"""TLS files for the server: a bad certificate, key or CA ends in one line that names it, and
changes nothing (a refused renewal leaves the serving pair in place); a certificate the image or
the Compose stack made is kept across restarts and re-issued in its last days."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from costdb.exit_codes import ExitCode
from costdb.tls.certificates import (
    Issued,
    TlsError,
    days_left,
    issue_ca,
    issue_server,
    load_server_pair,
    names_in,
    parse_certificate,
)
from costdb.tls.server_files import prepare
from costdb.tls.stack_secrets import SERVER_FILES, ensure_certificates
from testsupport.cli_runner import clean_environment, run_module

LONG_AGO = datetime.now(UTC) - timedelta(days=800)


def _write_pair(directory: Path, issued: Issued, ca: Issued | None = None) -> dict[str, str]:
    directory.mkdir(exist_ok=True)
    (directory / "tls.crt").write_bytes(issued.certificate)
    (directory / "tls.key").write_bytes(issued.key)
    (directory / "tls.key").chmod(0o600)
    environment = {
        "COSTDB_TLS_CERT_FILE": str(directory / "tls.crt"),
        "COSTDB_TLS_KEY_FILE": str(directory / "tls.key"),
    }
    if ca is not None:
        (directory / "ca.crt").write_bytes(ca.certificate)
        environment["COSTDB_TLS_CA_FILE"] = str(directory / "ca.crt")
    return environment


@pytest.fixture(scope="module")
def ca() -> Issued:
    return issue_ca("test CA")


def test_an_issued_pair_passes_and_names_its_hosts(ca: Issued, tmp_path: Path) -> None:
    environment = _write_pair(tmp_path, issue_server(ca, ["db", "127.0.0.1"]), ca)
    leaf = load_server_pair(
        Path(environment["COSTDB_TLS_CERT_FILE"]),
        Path(environment["COSTDB_TLS_KEY_FILE"]),
        Path(environment["COSTDB_TLS_CA_FILE"]),
    ).leaf
    assert names_in(leaf) == {"db", "127.0.0.1"}
    assert 390 < days_left(leaf) <= 397


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda d: (d / "tls.key").chmod(0o644), r"readable by others \(mode 0644\)"),
        (lambda d: (d / "tls.crt").write_text("junk"), "not a PEM certificate"),
        (lambda d: (d / "tls.key").write_text("junk"), "not a PEM private key"),
        (lambda d: (d / "tls.crt").unlink(), "no such file"),
    ],
)
def test_a_bad_file_is_named_in_one_line(
    ca: Issued, tmp_path: Path, spoil: object, message: str
) -> None:
    environment = _write_pair(tmp_path / "given", issue_server(ca, ["db"]))
    spoil(tmp_path / "given")  # type: ignore[operator]
    with pytest.raises(TlsError, match=message):
        prepare(tmp_path / "run", tmp_path / "data", environment)
    assert not (tmp_path / "run").exists()


def test_a_key_of_another_certificate_an_expired_one_and_a_foreign_ca_are_refused(
    ca: Issued, tmp_path: Path
) -> None:
    mine, other = issue_server(ca, ["db"]), issue_server(ca, ["db"])
    mismatched = _write_pair(tmp_path / "a", Issued(mine.certificate, other.key))
    with pytest.raises(TlsError, match="does not belong to the certificate"):
        prepare(tmp_path / "run", tmp_path / "data", mismatched)
    expired = _write_pair(tmp_path / "b", issue_server(ca, ["db"], now=LONG_AGO))
    with pytest.raises(TlsError, match=r"expired on \d{4}-\d\d-\d\d .* renew it"):
        prepare(tmp_path / "run", tmp_path / "data", expired)
    foreign = _write_pair(tmp_path / "c", mine, issue_ca("another CA"))
    with pytest.raises(TlsError, match="is not issued by the CA in"):
        prepare(tmp_path / "run", tmp_path / "data", foreign)
    half = {"COSTDB_TLS_KEY_FILE": mismatched["COSTDB_TLS_KEY_FILE"]}
    with pytest.raises(TlsError, match="COSTDB_TLS_CERT_FILE is not set: a key needs"):
        prepare(tmp_path / "run", tmp_path / "data", half)
    assert not (tmp_path / "run").exists()


def test_a_refused_renewal_leaves_the_serving_pair(ca: Issued, tmp_path: Path) -> None:
    good = issue_server(ca, ["db"])
    environment = _write_pair(tmp_path / "given", good, ca)
    prepare(tmp_path / "run", tmp_path / "data", environment)
    assert (tmp_path / "run" / "server.crt").read_bytes() == good.certificate
    assert stat.S_IMODE((tmp_path / "run" / "server.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o700
    _write_pair(tmp_path / "given", issue_server(ca, ["db"], now=LONG_AGO), ca)
    with pytest.raises(TlsError, match="expired"):
        prepare(tmp_path / "run", tmp_path / "data", environment)
    assert (tmp_path / "run" / "server.crt").read_bytes() == good.certificate
    assert (tmp_path / "run" / "server.key").read_bytes() == good.key
    renewed = issue_server(ca, ["db"])
    _write_pair(tmp_path / "given", renewed, ca)
    prepare(tmp_path / "run", tmp_path / "data", environment)
    assert (tmp_path / "run" / "server.crt").read_bytes() == renewed.certificate


def test_a_generated_certificate_moves_into_the_volume_and_outlives_the_container(
    tmp_path: Path,
) -> None:
    data, first_run, second_run = tmp_path / "data", tmp_path / "run1", tmp_path / "run2"
    data.mkdir()
    assert "generated" in prepare(first_run, data, {})  # the first boot: no volume yet
    assert not (data / "costdb-tls").exists()
    (data / "PG_VERSION").write_text("17\n")
    prepare(first_run, data, {})  # after the first boot
    kept_ca = (data / "costdb-tls" / "ca.crt").read_bytes()
    assert kept_ca == (first_run / "ca.crt").read_bytes()
    assert "kept" in prepare(second_run, data, {})  # a new container on the same volume
    assert (second_run / "ca.crt").read_bytes() == kept_ca
    assert (second_run / "server.crt").read_bytes() == (first_run / "server.crt").read_bytes()


def test_a_generated_certificate_in_its_last_days_is_reissued_by_the_same_ca(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    (data / "costdb-tls").mkdir(parents=True)
    (data / "PG_VERSION").write_text("17\n")
    ca = issue_ca("costdb CA")
    old = issue_server(ca, ["localhost"], now=datetime.now(UTC) - timedelta(days=380))
    for name, content in {
        "ca.crt": ca.certificate,
        "ca.key": ca.key,
        "server.crt": old.certificate,
        "server.key": old.key,
    }.items():
        (data / "costdb-tls" / name).write_bytes(content)
    assert "renewed" in prepare(tmp_path / "run", data, {})
    renewed = parse_certificate((data / "costdb-tls" / "server.crt").read_bytes())
    assert days_left(renewed) > 390
    assert (data / "costdb-tls" / "ca.crt").read_bytes() == ca.certificate


def test_the_stacks_certificate_is_kept_then_reissued_for_a_new_host_name(tmp_path: Path) -> None:
    assert ensure_certificates(tmp_path, []).action == "made"
    first = (tmp_path / SERVER_FILES[0]).read_bytes()
    assert stat.S_IMODE((tmp_path / SERVER_FILES[1]).stat().st_mode) == 0o400
    assert ensure_certificates(tmp_path, []).action == "kept"
    assert (tmp_path / SERVER_FILES[0]).read_bytes() == first
    assert ensure_certificates(tmp_path, ["db.example.com"]).action == "renewed"
    renewed = parse_certificate((tmp_path / SERVER_FILES[0]).read_bytes())
    assert "db.example.com" in names_in(renewed)


def test_the_command_says_what_is_wrong_in_one_line(ca: Issued, tmp_path: Path) -> None:
    environment = _write_pair(tmp_path / "given", issue_server(ca, ["db"]))
    (tmp_path / "given" / "tls.key").chmod(0o604)
    result = run_module(
        "costdb",
        "tls",
        "prepare",
        "--runtime-dir",
        str(tmp_path / "run"),
        "--data-dir",
        str(tmp_path / "data"),
        env=clean_environment(**environment),
    )
    assert result.returncode == ExitCode.MISCONFIGURED
    assert result.stderr.splitlines() == [
        f"costdb: error: key {tmp_path / 'given' / 'tls.key'} is readable by others (mode 0604): "
        "make it 0600, or 0640 owned by root (Kubernetes: defaultMode 0440 on the secret volume)"
    ]
