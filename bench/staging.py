"""What staging's safety costs, on the db image in a real engine:

- TLS: a new connection and the probe CLI (whole process) with TLS (``verify-ca``) against the
  same without (``sslmode=disable``), over the container's loopback, in alternating pairs
  inside the container (``docker exec`` would dwarf both).
- A full pgBackRest backup of a database holding ``events`` events (time; database and
  repository sizes, zstd), and a point-in-time restore of it into a fresh volume, recovery
  to the target included (time, beside the backup's).
- The archive's lag under steady ingest: every second for a minute while rows arrive, the
  closed segments not yet archived and the age of the last archived one.
"""

from __future__ import annotations

import json
import secrets
import threading
import time

import pytest

from bench.harness import Figure, median
from costdb.verify.server_checks import waiting_segments
from testsupport.containers import (
    DB_IMAGE,
    build,
    engine_or_skip,
    run,
    run_detached,
    superuser_sql,
)

SECTION = "staging"
LOAD_EVENTS = """
INSERT INTO events (trace_id, span_id, project_id, feature, user_id, provider, model,
                    input_tokens, output_tokens, latency_ms, estimated_cost_usd, created_at)
SELECT 'trace-' || (g / 10), 'span-' || g, 'project-' || (g % 50), 'feature-' || (g % 7),
       'user-' || (g % 1000), 'openai', 'gpt-4o', 500 + g % 1000, 100 + g % 300, 200 + g % 900,
       0.001, now() - (:count - g) * interval '2 seconds'
FROM generate_series(1, :count) g
"""
TLS_PAIRS = """
import json, os, subprocess, sys, time
import psycopg
base = "host=127.0.0.1 dbname=costdb user=costdb_readonly password=pw-costdb_readonly_password"
modes = {"clear": "sslmode=disable",
         "tls": "sslmode=verify-ca sslrootcert=/var/run/postgresql/costdb-tls/ca.crt"}
connect = {mode: [] for mode in modes}
probe = {mode: [] for mode in modes}
for _ in range(int(sys.argv[1])):
    for mode, options in modes.items():
        started = time.perf_counter()
        psycopg.connect(f"{base} {options}").close()
        connect[mode].append(time.perf_counter() - started)
        env = {**os.environ, "DATABASE_URL": f"postgresql://costdb_readonly:"
               f"pw-costdb_readonly_password@127.0.0.1/costdb?{options.replace(' ', '&')}"}
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "healthcheck"], env=env, check=True,
                       capture_output=True)
        probe[mode].append(time.perf_counter() - started)
print(json.dumps({"connect": connect, "probe": probe}))
"""


def _psql(container: str, statement: str, **variables: str) -> str:
    return superuser_sql(container, statement, variables, timeout=3600)


def _tls_figures(container: str, pairs: int) -> list[Figure]:
    result = run(
        "docker", "exec", "--interactive", container, "/opt/costdb/bin/python", "-",
        str(pairs), input=TLS_PAIRS,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    timings = json.loads(result.stdout)
    connect, probe = timings["connect"], timings["probe"]
    return [
        Figure(
            SECTION,
            "new connection, TLS 1.3 verify-ca + SCRAM (container loopback)",
            median(connect["tls"]) * 1000,
            "ms",
            "the same, sslmode=disable",
            median(connect["clear"]) * 1000,
            note=f"median of {pairs} alternating pairs",
        ),
        Figure(
            SECTION,
            "probe CLI, whole process, TLS verify-ca (handshake + certificate expiry check)",
            median(probe["tls"]) * 1000,
            "ms",
            "the same, sslmode=disable",
            median(probe["clear"]) * 1000,
            note=f"median of {pairs} alternating pairs",
        ),
    ]


def _backup_figures(container: str, repository: str, events: int) -> list[Figure]:
    started = time.monotonic()
    _psql(container, LOAD_EVENTS, count=str(events))
    loaded = time.monotonic() - started
    started = time.monotonic()
    backed_up = run("docker", "exec", container, "costdb-backup.sh", "now", timeout=3600)
    assert backed_up.returncode == 0, backed_up.stderr
    backup_seconds = time.monotonic() - started
    database_bytes, stored_bytes = map(
        int,
        _psql(container, "SELECT database_bytes, repository_bytes FROM costdb_backups").split("|"),
    )
    time.sleep(1.5)  # a target in the second the backup ended is not after it (whole seconds)
    _psql(container, LOAD_EVENTS, count="1000")
    target = _psql(container, "SELECT now()")
    time.sleep(1)
    _psql(container, LOAD_EVENTS, count="1000")
    _psql(container, "SELECT pg_switch_wal()")
    time.sleep(5)  # the last segment reaches the archive
    volume = f"costdb-bench-restore-{secrets.token_hex(4)}"
    try:
        started = time.monotonic()
        restored = run(
            "docker", "run", "--rm",
            "--volume", f"{volume}:/var/lib/postgresql/data",
            "--volume", f"{repository}:/var/lib/pgbackrest",
            DB_IMAGE, "costdb-backup.sh", "restore", "--target-time", target,
            timeout=3600,
        )  # fmt: skip
        restore_seconds = time.monotonic() - started
        assert restored.returncode == 0, restored.stdout + restored.stderr
    finally:
        run("docker", "volume", "rm", "--force", volume)
    return [
        Figure(
            SECTION,
            f"full backup, {events:,} events (pgBackRest, zstd, 2 processes)",
            backup_seconds,
            "s",
            f"loading those events (INSERT ... SELECT, {events:,} rows)",
            loaded,
            note=f"database {database_bytes / 1e6:.0f} MB, stored {stored_bytes / 1e6:.0f} MB",
        ),
        Figure(
            SECTION,
            "point-in-time restore of it into a new volume, recovery to the target included",
            restore_seconds,
            "s",
            "the full backup above",
            backup_seconds,
            note="docker run included (about 1 s)",
        ),
    ]


def _archive_lag_figures(container: str, seconds: int) -> list[Figure]:
    stop = threading.Event()

    def ingest() -> None:
        while not stop.is_set():
            _psql(container, LOAD_EVENTS, count="2000")

    writer = threading.Thread(target=ingest)
    writer.start()
    samples = []
    try:
        for _ in range(seconds):
            time.sleep(1)
            age, current, archived = _psql(
                container,
                "SELECT extract(epoch FROM now() - last_archived_time),"
                " pg_walfile_name(pg_current_wal_lsn()), last_archived_wal FROM pg_stat_archiver",
            ).split("|")
            state = {
                "segment_bytes": 16 << 20,
                "current_wal": current,
                "last_archived_wal": archived,
            }
            samples.append((float(age or "nan"), waiting_segments(state) or 0))
    finally:
        stop.set()
        writer.join()
    ages = [age for age, _ in samples]
    waiting_counts = [float(count) for _, count in samples]
    return [
        Figure(
            SECTION,
            "archive lag under steady ingest: age of the last archived segment (median)",
            median(ages),
            "s",
            "the same, worst second",
            max(ages),
            note=f"{seconds} samples, 2,000-row INSERTs back to back",
        ),
        Figure(
            SECTION,
            "archive lag under steady ingest: closed segments waiting (median)",
            median(waiting_counts),
            "segments",
            "the same, worst second",
            max(waiting_counts),
        ),
    ]


def staging_figures(events: int, repeat: int) -> list[Figure]:
    try:
        engine_or_skip()
    except pytest.skip.Exception as skipped:
        print(f"staging: skipped ({skipped})")
        return []
    build("db", DB_IMAGE)
    repository = f"costdb-bench-repo-{secrets.token_hex(4)}"
    container = run_detached(
        DB_IMAGE,
        "costdb-bench-staging",
        "--volume",
        f"{repository}:/var/lib/pgbackrest",
        "--shm-size",
        "1g",
        "--env",
        "COSTDB_ARCHIVE_TIMEOUT=60",
    )
    try:
        deadline = time.monotonic() + 300
        while (
            "healthy"
            not in run("docker", "inspect", "-f", "{{.State.Health.Status}}", container).stdout
        ):
            assert time.monotonic() < deadline, run("docker", "logs", container).stderr[-2000:]
            time.sleep(1)
        figures = _tls_figures(container, repeat)
        figures += _backup_figures(container, repository, events)
        figures += _archive_lag_figures(container, 60)
        return figures
    finally:
        run("docker", "rm", "--force", "--volumes", container)
        run("docker", "volume", "rm", "--force", repository)
