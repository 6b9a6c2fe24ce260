"""The restore drill, on the real engine: rows written, a full backup, more rows, a time T,
more rows, the repository away for a minute while rows keep coming, then restores into fresh
volumes: to T (exactly the rows committed before T) and to the end (every committed row),
each started by the image, healthy, with nothing for `costdb migrate` to do. Bad restores end
in one line and leave the new volume empty: a target before the first backup, a corrupted
backup, a volume that is not empty."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from testsupport.containers import DB_IMAGE, run, run_detached, superuser_sql, wait_for_health

pytestmark = [pytest.mark.docker, pytest.mark.slow]
OUTAGE_SECONDS = 60


@dataclass(frozen=True)
class Primary:
    container: str
    repository: str

    def sql(self, statement: str, **variables: str) -> str:
        return superuser_sql(self.container, statement, variables)


INSERT_BATCH = """
INSERT INTO events (trace_id, span_id, project_id, feature, provider, model, input_tokens,
                    output_tokens, latency_ms, estimated_cost_usd, metadata)
SELECT 'drill', :'batch' || '-' || g, 'drill', 'f', 'openai', 'gpt-4o', 10, 5, 100, 0.001,
       jsonb_build_object('batch', :'batch')
FROM generate_series(1, :count) g
"""


def insert(primary: Primary, batch: str, count: int) -> None:
    primary.sql(INSERT_BATCH, batch=batch, count=str(count))


def batches(container: str) -> dict[str, int]:
    rows = superuser_sql(
        container,
        "SELECT metadata->>'batch', count(*) FROM events WHERE project_id = 'drill' GROUP BY 1",
    )
    return {line.split("|")[0]: int(line.split("|")[1]) for line in rows.splitlines()}


def wait_until_archived(primary: Primary) -> None:
    """Until the segment holding every write so far is in the repository."""
    segment = primary.sql("SELECT pg_walfile_name(pg_current_wal_lsn())")
    primary.sql("SELECT pg_switch_wal()")
    deadline = time.monotonic() + 120
    while primary.sql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") < segment:
        assert time.monotonic() < deadline, primary.sql("SELECT * FROM pg_stat_archiver")
        time.sleep(0.5)


def volume(prefix: str) -> str:
    return f"costdb-test-{prefix}-{secrets.token_hex(4)}"


def restore(repository: str, data: str, *options: str) -> tuple[int, str]:
    result = run(
        "docker", "run", "--rm",
        "--volume", f"{data}:/var/lib/postgresql/data",
        "--volume", f"{repository}:/var/lib/pgbackrest",
        DB_IMAGE, "costdb-backup.sh", "restore", *options,
        timeout=600,
    )  # fmt: skip
    return result.returncode, result.stdout + result.stderr


def volume_is_empty(data: str) -> bool:
    listed = run(
        "docker", "run", "--rm", "--volume", f"{data}:/data", "--entrypoint", "ls", DB_IMAGE,
        "-A", "/data",
    )  # fmt: skip
    return listed.returncode == 0 and listed.stdout.strip() == ""


@pytest.fixture
def volumes() -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    for name in made:
        run("docker", "volume", "rm", "--force", name)


@pytest.fixture
def primary(images: None, volumes: list[str]) -> Iterator[Primary]:
    repository = volume("repo")
    volumes.append(repository)
    name = run_detached(
        DB_IMAGE,
        "costdb-test-primary",
        "--volume",
        f"{repository}:/var/lib/pgbackrest",
        "--env",
        "COSTDB_ARCHIVE_TIMEOUT=5",
    )
    try:
        wait_for_health(name, "healthy", timeout=120)
        yield Primary(name, repository)
    finally:
        run("docker", "rm", "--force", "--volumes", name)


def start_restored(data: str) -> str:
    """The image on a restored volume, without the repository (the primary still owns it)."""
    name = run_detached(
        DB_IMAGE, "costdb-test-restored", "--volume", f"{data}:/var/lib/postgresql/data"
    )
    wait_for_health(name, "healthy", timeout=180)
    return name


class Ingest:
    """Rows written every half second on another thread, counted as they commit."""

    def __init__(self, primary: Primary) -> None:
        self.primary = primary
        self.committed = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self.stop.is_set():
            insert(self.primary, "D", 10)
            self.committed += 10
            self.stop.wait(0.5)

    def __enter__(self) -> Ingest:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join()


def _repository_away_during_ingest(primary: Primary) -> int:
    """The repository unwritable for a minute while rows keep coming: the database keeps
    running and keeps the WAL, the probe warns; once it is back the archive catches up.
    Returns the rows written meanwhile."""
    run("docker", "exec", primary.container, "chmod", "000", "/var/lib/pgbackrest/archive")
    with Ingest(primary) as ingest:
        time.sleep(OUTAGE_SECONDS)
        primary.sql("SELECT pg_switch_wal()")
        health = run("docker", "exec", primary.container, "db-healthcheck.sh")
        assert health.returncode == 0, health.stdout  # a warning, not a failure
        assert "warning: WAL archiving fails" in health.stdout
        run("docker", "exec", primary.container, "chmod", "750", "/var/lib/pgbackrest/archive")
    wait_until_archived(primary)
    return ingest.committed


def _restored_batches(primary: Primary, data: str, *options: str) -> tuple[dict[str, int], str]:
    """Restore into ``data``, start the image on it; its batches and its log."""
    code, output = restore(primary.repository, data, *options)
    assert code == 0, output
    restored = start_restored(data)
    try:
        return batches(restored), run("docker", "logs", restored).stderr
    finally:
        run("docker", "rm", "--force", restored)


def test_the_restore_drill(primary: Primary, volumes: list[str]) -> None:
    insert(primary, "A", 100)
    backed_up = run("docker", "exec", primary.container, "costdb-backup.sh", "now")
    assert backed_up.returncode == 0, backed_up.stderr
    # pgBackRest dates a backup's end in whole seconds: a restore can reach from the next one.
    time.sleep(1.1)
    insert(primary, "B", 50)
    target = primary.sql("SELECT now()")
    time.sleep(1.5)
    insert(primary, "C", 25)
    during_outage = _repository_away_during_ingest(primary)
    written = batches(primary.container)
    assert written == {"A": 100, "B": 50, "C": 25, "D": during_outage}

    volumes.extend([volume("restored-t"), volume("restored-latest")])
    to_target, log = _restored_batches(primary, volumes[-2], "--target-time", target)
    assert to_target == {"A": 100, "B": 50}  # exactly the rows committed before T
    assert "nothing to apply" in log
    latest, _log = _restored_batches(primary, volumes[-1])
    assert latest == written  # every committed row, those of the outage included

    code, output = restore(primary.repository, volumes[-1])
    assert code != 0
    assert output.strip().splitlines() == [
        "costdb: error: /var/lib/postgresql/data is not empty: restore into a new, empty volume"
        " (nothing was changed)"
    ]


def test_bad_restores_end_in_one_line_and_write_nothing(
    primary: Primary, volumes: list[str]
) -> None:
    insert(primary, "A", 10)
    backed_up = run("docker", "exec", primary.container, "costdb-backup.sh", "now")
    assert backed_up.returncode == 0, backed_up.stderr
    early = volume("restored-early")
    volumes.append(early)
    code, output = restore(primary.repository, early, "--target-time", "2020-01-01T00:00Z")
    assert code != 0
    [line] = output.strip().splitlines()
    assert "is before the end of the first backup" in line
    assert volume_is_empty(early)

    corrupt = run(
        "docker", "exec", primary.container, "bash", "-c",
        "f=$(find /var/lib/pgbackrest/backup/costdb -path '*pg_data/base/*' -size +8k"
        " -type f | head -n 1) && printf 'not what was backed up' |"
        " dd of=\"$f\" bs=1 seek=64 conv=notrunc status=none && echo \"$f\"",
    )  # fmt: skip
    assert corrupt.returncode == 0 and corrupt.stdout.strip(), corrupt.stderr
    spoiled = volume("restored-corrupt")
    volumes.append(spoiled)
    code, output = restore(primary.repository, spoiled)
    assert code != 0
    [line] = output.strip().splitlines()
    assert line.startswith("costdb: error: pgbackrest restore failed: "), line
    assert volume_is_empty(spoiled)


def test_a_repository_that_cannot_be_written_is_named_in_one_line(primary: Primary) -> None:
    """Nothing is set up in it (no stanza, no archiving): the server keeps running without
    archiving, as before any repository."""
    run("docker", "exec", primary.container, "chmod", "0555", "/var/lib/pgbackrest")
    attempt = run("docker", "exec", primary.container, "costdb-backup.sh", "now")
    assert attempt.returncode != 0
    [line] = attempt.stderr.strip().splitlines()
    assert line.startswith("costdb: error: pgbackrest stanza-create failed: "), line
    assert "/var/lib/pgbackrest" in line and "ermission denied" in line
    listed = run("docker", "exec", primary.container, "ls", "-A", "/var/lib/pgbackrest")
    assert listed.stdout.strip() == ""
    health = run("docker", "exec", primary.container, "db-healthcheck.sh")
    assert health.returncode == 0, health.stdout
