"""The Citus mode on a real cluster: a coordinator and two workers on loopback (``make citus``
builds the extension). The same ``costdb migrate`` and probe as on plain PostgreSQL; what
Citus changes is shown here, one test per documented limit (docs/citus.md)."""

from __future__ import annotations

import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from costdb.db.engine import connect
from costdb.health.one_shot import read_once
from costdb.migrate import distribute as distribute_module
from costdb.migrate.distribute import SHARDS_PER_NODE, DistributionFailed, distribute
from costdb.migrate.placements import PLACEMENTS
from costdb.migrate.sidecar import SidecarOptions, run_sidecar
from costdb.schema import metadata
from costdb.settings import DatabaseSettings
from costdb.verify.checks import Check, evaluate
from costdb.verify.manifest import load_manifest
from testsupport.citus_servers import CitusCluster
from testsupport.cli_runner import run_module, url_environment
from testsupport.database_actions import run_sql
from testsupport.migration_fixtures import ScriptCopy
from testsupport.servers import migrate_to, migrate_to_head

pytestmark = pytest.mark.slow


def _rows(database: DatabaseSettings, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run one statement with ``params`` bound; its rows (none for a statement without)."""
    with psycopg.connect(database.conninfo("costdb-tests"), autocommit=True) as connection:
        cursor = connection.execute(sql.encode(), params or None)
        return cursor.fetchall() if cursor.description else []


def _placements(database: DatabaseSettings) -> dict[str, tuple[str, str | None, int]]:
    rows = _rows(
        database,
        "SELECT logicalrelid::text, partmethod, column_to_column_name(logicalrelid, partkey), "
        "colocationid FROM pg_dist_partition",
    )
    return {table: (method, column, group) for table, method, column, group in rows}


def _failures(database: DatabaseSettings) -> dict[str, str]:
    snapshot, _ = read_once(database, 5.0)
    checks: list[Check] = evaluate(load_manifest(), snapshot, allow_replica=False)
    return {check.name: check.detail for check in checks if check.status == "fail"}


def _insert_event(database: DatabaseSettings, **columns: Any) -> uuid.UUID:
    values = {
        "trace_id": "t",
        "span_id": "s",
        "feature": "chat",
        "provider": "openai",
        "model": "gpt-4o",
        "input_tokens": 100,
        "output_tokens": 10,
        "latency_ms": 50,
        "estimated_cost_usd": 0,
        **columns,
    }
    names = ", ".join(values)
    marks = ", ".join(["%s"] * len(values))
    insert = f"INSERT INTO events ({names}) VALUES ({marks}) RETURNING id"  # noqa: S608
    rows = _rows(database, insert, *values.values())
    return uuid.UUID(str(rows[0][0]))


def _costdb_migrate(
    database: DatabaseSettings, timeout: float = 180, **environment: str
) -> subprocess.CompletedProcess[str]:
    """``costdb migrate`` as a user runs it: a process of its own, ``database`` in DATABASE_URL."""
    return run_module(
        "costdb", "migrate", env=url_environment(database, **environment), timeout=timeout
    )


def test_migrate_distributes_every_table_and_the_probe_passes(
    citus: CitusCluster, citus_database: DatabaseSettings
) -> None:
    result = _costdb_migrate(citus_database)
    assert result.returncode == 0, result.stderr
    assert "Citus: placed" in result.stderr

    placed = _placements(citus_database)
    for placement in PLACEMENTS:
        method, column, _ = placed[placement.table]
        assert (method, column) == (
            ("n", None) if placement.kind == "reference" else ("h", placement.column)
        )
    assert placed["prompt_analysis"][2] == placed["events"][2] == placed["prompt_embeddings"][2]
    assert set(placed) == set(metadata.tables)  # the bookkeeping stays on the coordinator
    shards = _rows(
        citus_database, "SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = 'events'::regclass"
    )
    assert shards[0][0] == SHARDS_PER_NODE * len(citus.workers)

    probe = run_module("healthcheck", "--json", env=url_environment(citus_database))
    assert probe.returncode == 0, probe.stdout + probe.stderr
    names = probe.stdout
    for check in (
        "citus:placement:events",
        "citus:colocation:prompt_embeddings",
        "constraint:prompt_analysis.prompt_analysis_pkey",
    ):
        assert f'"{check}"' in names
    assert names.count('"citus:worker:127.0.0.1:') == len(citus.workers)


def test_the_owner_role_migrates_and_distributes(citus_database: DatabaseSettings) -> None:
    """As the image runs it: the extension created by the superuser at first boot, before the
    workers were registered; costdb migrate as a role that owns nothing else."""
    owner = f"costdb_owner_{uuid.uuid4().hex[:8]}"
    run_sql(
        citus_database,
        "CREATE EXTENSION vector",
        f"CREATE ROLE {owner} LOGIN PASSWORD 'owner'",
        f'GRANT CREATE ON DATABASE "{citus_database.dbname}" TO {owner}',
        f"GRANT CREATE ON SCHEMA public TO {owner}",
    )
    as_owner = citus_database.with_params(user=owner, password="owner")
    try:
        result = _costdb_migrate(as_owner)
        assert result.returncode == 0, result.stderr
        assert _failures(as_owner) == {}
        _insert_event(as_owner)  # the default (costdb_uuidv7) reached the shards
    finally:
        run_sql(citus_database, f"DROP OWNED BY {owner}", f"DROP ROLE {owner}")


def test_a_second_migrate_moves_nothing(distributed_database: DatabaseSettings) -> None:
    shards = "SELECT logicalrelid::text, shardid FROM pg_dist_shard ORDER BY 1, 2"
    before = _rows(distributed_database, shards)
    assert run_sidecar(distributed_database, SidecarOptions()) == []
    assert _rows(distributed_database, shards) == before


def test_the_shard_count_is_a_setting(citus_database: DatabaseSettings) -> None:
    result = _costdb_migrate(citus_database, COSTDB_CITUS_SHARD_COUNT="3")
    assert result.returncode == 0, result.stderr
    counts = _rows(
        citus_database,
        "SELECT logicalrelid::text, count(*) FROM pg_dist_shard GROUP BY 1 ORDER BY 1",
    )
    assert dict(counts) == {
        "budget_alerts": 1,
        "budgets": 1,
        "cost_aggregates": 3,
        "costdb_backups": 1,
        "costdb_model_names": 1,
        "costdb_model_match_rules": 1,
        "costdb_repricing": 1,
        "costdb_rollup_coverage": 1,
        "costdb_spend_hourly": 3,
        "events": 3,
        "model_pricing": 1,
        "model_pricing_tiers": 1,
        "prompt_analysis": 3,
        "prompt_embeddings": 3,
    }
    bad = _costdb_migrate(citus_database, COSTDB_CITUS_SHARD_COUNT="many")
    assert bad.returncode == 2
    assert "COSTDB_CITUS_SHARD_COUNT" in bad.stderr or "--citus-shard-count" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_rows_written_before_distribution_are_kept_and_cascade(
    citus_database: DatabaseSettings,
) -> None:
    migrate_to_head(citus_database)  # an install that ran before Citus mode existed
    run_sql(
        citus_database,
        "INSERT INTO model_pricing (provider, model, input_price_per_1k, output_price_per_1k, "
        "effective_date) VALUES ('openai', 'gpt-4o', 0.0025, 0.01, '2025-01-01')",
    )
    event = _insert_event(citus_database)
    _rows(
        citus_database,
        "INSERT INTO prompt_analysis (event_id, redundancy_score) VALUES (%s, 0.5)",
        event,
    )
    run_sidecar(citus_database, SidecarOptions())
    assert _failures(citus_database) == {}
    assert _rows(
        citus_database, "SELECT count(*) FROM prompt_analysis WHERE event_id = %s", event
    ) == [(1,)]
    cost = _rows(
        citus_database, "SELECT computed_cost_usd FROM events_with_cost WHERE id = %s", event
    )
    assert str(cost[0][0]) == "0.000350"  # 100 in at $0.0025/1k + 10 out at $0.01/1k
    # The coordinator's local copies are gone: the rows live in the shards only.
    assert _rows(citus_database, "SELECT pg_relation_size('events')") == [(0,)]
    _rows(citus_database, "DELETE FROM events WHERE id = %s", event)
    assert _rows(citus_database, "SELECT count(*) FROM prompt_analysis") == [(0,)]


def test_events_distributed_alone_is_reported_then_finished(
    citus_database: DatabaseSettings,
) -> None:
    """The trap: Citus accepts distributing events while its children are local, and then
    their cascades silently stop. The probe names it; costdb migrate completes the step."""
    migrate_to_head(citus_database)
    run_sql(citus_database, "SELECT create_distributed_table('events', 'id')")
    failures = _failures(citus_database)
    assert "plain table on the coordinator" in failures["citus:placement:prompt_analysis"]
    assert "not co-located with events" in failures["citus:colocation:prompt_embeddings"]
    assert "PRIMARY KEY (id)" in failures["constraint:prompt_analysis.prompt_analysis_pkey"]

    run_sidecar(citus_database, SidecarOptions())
    assert _failures(citus_database) == {}
    event = _insert_event(citus_database)
    _rows(
        citus_database,
        "INSERT INTO prompt_embeddings (event_id, embedding, prompt_hash) "
        "VALUES (%s, array_fill(0.1, ARRAY[1536])::vector, 'h')",
        event,
    )
    _rows(citus_database, "DELETE FROM events WHERE id = %s", event)
    assert _rows(citus_database, "SELECT count(*) FROM prompt_embeddings") == [(0,)]


def test_a_table_placed_otherwise_stops_migrate_and_nothing_moves(
    citus_database: DatabaseSettings,
) -> None:
    migrate_to_head(citus_database)
    run_sql(citus_database, "SELECT create_reference_table('cost_aggregates')")
    result = _costdb_migrate(citus_database)
    assert result.returncode == 1
    assert (
        "table cost_aggregates is reference; costdb needs it distributed by project_id"
        in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert set(_placements(citus_database)) == {"cost_aggregates"}
    assert "reference" in _failures(citus_database)["citus:placement:cost_aggregates"]


def test_tables_an_operator_began_to_place_are_finished(citus_database: DatabaseSettings) -> None:
    """model_pricing made a reference table by hand: Citus turns model_pricing_tiers (its
    foreign key points there) into a Citus local table; migrate places both as intended."""
    migrate_to_head(citus_database)
    run_sql(citus_database, "SELECT create_reference_table('model_pricing')")
    run_sidecar(citus_database, SidecarOptions())
    replication = "SELECT repmodel FROM pg_dist_partition WHERE logicalrelid = %s::regclass"
    assert _rows(citus_database, replication, "model_pricing_tiers") == [("t",)]  # reference
    assert _failures(citus_database) == {}


def test_a_table_held_by_the_application_times_out_and_nothing_moves(
    citus_database: DatabaseSettings,
) -> None:
    """The distribution waits for locks as long as a migration statement may
    (COSTDB_DDL_LOCK_TIMEOUT), then gives up whole, instead of queueing the application."""
    migrate_to_head(citus_database)
    with psycopg.connect(citus_database.conninfo("costdb-tests")) as reader:
        reader.execute(b"SELECT count(*) FROM prompt_analysis").fetchall()  # holds its lock
        result = _costdb_migrate(citus_database, timeout=60, COSTDB_DDL_LOCK_TIMEOUT="1s")
    assert result.returncode == 1, result.stderr
    assert "lock timeout" in result.stderr and "nothing was distributed" in result.stderr
    assert _placements(citus_database) == {}
    run_sidecar(citus_database, SidecarOptions())  # once the reader is gone
    assert _failures(citus_database) == {}


def test_no_worker_registered_is_one_clear_line(citus: CitusCluster) -> None:
    database = citus.create_database(register_workers=False)
    try:
        with pytest.raises(DistributionFailed, match="no node can hold shards"):
            run_sidecar(database, SidecarOptions())
        assert _placements(database) == {}
        assert "no active worker" in _failures(database)["citus:workers"]
    finally:
        citus.drop_database(database)


def test_a_worker_down_fails_its_own_check_in_time(
    citus: CitusCluster, distributed_database: DatabaseSettings
) -> None:
    worker = citus.workers[1]
    worker.stop(mode="immediate")
    try:
        started = time.monotonic()
        failures = _failures(distributed_database)
        assert time.monotonic() - started < 5
    finally:
        worker.start()
    assert set(failures) == {f"citus:worker:127.0.0.1:{worker.port}"}
    assert _failures(distributed_database) == {}


def test_a_later_migration_works_in_both_modes(
    tmp_path: Path, distributed_database: DatabaseSettings, empty_database: DatabaseSettings
) -> None:
    scripts = ScriptCopy(tmp_path)
    scripts.write(
        "9001", load_manifest().head, 'op.execute("ALTER TABLE events ADD COLUMN region text")'
    )
    for database in (empty_database, distributed_database):
        run_sidecar(database, SidecarOptions(), config=scripts.config())
        event = _insert_event(database, region="eu")
        assert _rows(database, "SELECT region FROM events WHERE id = %s", event) == [("eu",)]
    on_shards = _rows(
        distributed_database,
        "SELECT bool_and(result = '1') FROM run_command_on_shards('events', $$SELECT count(*) "
        "FROM pg_attribute WHERE attrelid = '%s'::regclass AND attname = 'region'$$)",
    )
    assert on_shards == [(True,)]


def test_a_distributed_database_at_0009_upgrades_with_its_rows_and_rolled_up_hours(
    citus_database: DatabaseSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An install distributed by the previous release (at 0009), with calls and a roll-up's
    coverage, upgraded by `costdb migrate` in a process of its own: 0010 replaces a CHECK on a
    distributed table and fills the per-model spend of the covered hours from its shards;
    0012 and 0013 add and validate CHECKs on distributed tables; 0014's new table is placed by
    the distribution step at the end."""
    migrate_to(citus_database, "0009")
    earlier = tuple(p for p in PLACEMENTS if p.table != "costdb_model_match_rules")  # (0014's)
    monkeypatch.setattr(distribute_module, "PLACEMENTS", earlier)  # that release's layout
    with connect(citus_database, "costdb-tests") as connection:
        distribute(connection, None)
    monkeypatch.undo()
    at = datetime(2026, 11, 1, 10, tzinfo=UTC)
    for minutes, model in ((0, "gpt-4o"), (20, "gpt-4o"), (70, "o3"), (150, "o3")):
        _insert_event(
            citus_database,
            model=model,
            estimated_cost_usd="0.250000",
            created_at=at + timedelta(minutes=minutes),
        )
    run_sql(
        citus_database,
        "INSERT INTO costdb_rollup_coverage"
        " VALUES ('hour', '2026-11-01 10:00Z', '2026-11-01 12:00Z')",
    )
    upgraded = _costdb_migrate(citus_database)
    assert upgraded.returncode == 0, upgraded.stderr
    assert _rows(citus_database, "SELECT count(*) FROM events") == [(4,)]
    assert _rows(
        citus_database,
        "SELECT scope_key, hour, calls FROM costdb_spend_hourly WHERE scope = 'model'"
        " ORDER BY hour",
    ) == [("gpt-4o", at, 2), ("o3", at + timedelta(hours=1), 1)]  # 12:30 is not covered
    spend = _rows(
        citus_database,
        "SELECT key, cost_usd, calls FROM costdb_spend_by('model', %s, %s)",
        at,
        at + timedelta(hours=3),
    )
    assert spend == [("gpt-4o", Decimal("0.500000"), 2), ("o3", Decimal("0.500000"), 2)]
    assert _rows(
        citus_database,
        "SELECT count(*), count(*) FILTER (WHERE convalidated) FROM pg_constraint"
        " WHERE conrelid = 'events'::regclass AND conname LIKE '%\\_finite\\_check'",
    ) == [(2, 2)]
    placed = "SELECT repmodel FROM pg_dist_partition WHERE logicalrelid = %s::regclass"
    assert _rows(citus_database, placed, "costdb_model_match_rules") == [("t",)]  # reference


# The documented limits, one test each.


def test_limit_child_ids_are_unique_per_event_only(
    distributed_database: DatabaseSettings, migrated_database: DatabaseSettings
) -> None:
    """prompt_analysis's key is (event_id, id): the same id under two events is accepted on
    Citus (ids from the default gen_random_uuid() never collide), refused on one node."""
    same_id = uuid.UUID(int=1)
    statement = "INSERT INTO prompt_analysis (id, event_id) VALUES (%s, %s)"
    for event in (_insert_event(distributed_database), _insert_event(distributed_database)):
        _rows(distributed_database, statement, same_id, event)
    assert _rows(distributed_database, "SELECT count(DISTINCT event_id) FROM prompt_analysis") == [
        (2,)
    ]
    first, second = _insert_event(migrated_database), _insert_event(migrated_database)
    _rows(migrated_database, statement, same_id, first)
    with pytest.raises(psycopg.errors.UniqueViolation):
        _rows(migrated_database, statement, same_id, second)


def test_limit_no_on_conflict_id_on_child_tables(distributed_database: DatabaseSettings) -> None:
    event = _insert_event(distributed_database)
    with pytest.raises(psycopg.errors.InvalidColumnReference):
        _rows(
            distributed_database,
            "INSERT INTO prompt_analysis (event_id) VALUES (%s) ON CONFLICT (id) DO NOTHING",
            event,
        )
    assert _rows(
        distributed_database,
        "INSERT INTO prompt_analysis (event_id) VALUES (%s) "
        "ON CONFLICT (event_id, id) DO NOTHING RETURNING event_id",
        event,
    ) == [(event,)]
    again = _rows(
        distributed_database,
        "INSERT INTO events (id, trace_id, span_id, feature, provider, model, input_tokens, "
        "output_tokens, latency_ms, estimated_cost_usd) VALUES (%s, 't', 's', 'f', 'p', 'm', "
        "1, 1, 1, 0) ON CONFLICT (id) DO NOTHING RETURNING id",
        event,
    )
    assert again == []  # events keeps the spec's upsert on id


def test_limit_errors_from_workers_lose_their_fields(
    distributed_database: DatabaseSettings, migrated_database: DatabaseSettings
) -> None:
    missing = uuid.UUID(int=0)
    errors = {}
    for name, database in (("single", migrated_database), ("citus", distributed_database)):
        with pytest.raises(psycopg.errors.ForeignKeyViolation) as raised:
            _rows(
                database, "INSERT INTO prompt_analysis (event_id) VALUES (%s) RETURNING id", missing
            )
        errors[name] = raised.value.diag
    assert errors["single"].constraint_name == "prompt_analysis_event_id_events_id_fk"
    assert errors["single"].table_name == "prompt_analysis"
    assert errors["citus"].sqlstate == "23503"  # the SQLSTATE survives
    assert errors["citus"].constraint_name is None and errors["citus"].table_name is None
    assert "prompt_analysis_" in (errors["citus"].message_primary or "")  # a shard's name


def _task_count(database: DatabaseSettings, query: str) -> int:
    plan = "\n".join(row[0] for row in _rows(database, "EXPLAIN " + query))
    return int(plan.split("Task Count: ")[1].split()[0])


def test_limit_per_project_queries_fan_out_to_every_shard(
    distributed_database: DatabaseSettings,
) -> None:
    event = _insert_event(distributed_database)
    by_project = "SELECT sum(estimated_cost_usd) FROM events WHERE project_id = 'default'"
    assert _task_count(distributed_database, by_project) == 2 * SHARDS_PER_NODE
    by_id = f"SELECT * FROM events WHERE id = '{event}'"  # noqa: S608
    assert _task_count(distributed_database, by_id) == 1
    assert (
        _task_count(
            distributed_database, "SELECT * FROM cost_aggregates WHERE project_id = 'default'"
        )
        == 1
    )


def _embeddings(database: DatabaseSettings, count: int) -> list[uuid.UUID]:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    ids = []
    for i in range(count):
        event = _insert_event(database, created_at=start + timedelta(minutes=i))
        vector = "[" + ",".join("1" if d in (i % 7, 7 + i % 5) else "0" for d in range(1536)) + "]"
        _rows(
            database,
            "INSERT INTO prompt_embeddings (event_id, embedding, prompt_hash) VALUES (%s, %s, %s)",
            event,
            vector,
            f"h{i % 11}",
        )
        ids.append(event)
    run_sql(database, "ANALYZE prompt_embeddings")
    return ids


def test_limit_hnsw_settings_apply_per_shard(distributed_database: DatabaseSettings) -> None:
    """Each shard's HNSW scan returns up to ef_search rows; the coordinator merges them. A
    SET on the coordinator reaches the shards only when Citus propagates it; a role's
    settings (ALTER ROLE ... SET, which Citus copies to the workers) always do."""
    _embeddings(distributed_database, 60)
    query = "[" + ",".join("1" if d < 2 else "0" for d in range(1536)) + "]"
    top = (
        "SELECT count(*) FROM (SELECT event_id FROM prompt_embeddings "
        "ORDER BY embedding <=> %s::vector LIMIT 10) s"
    )
    counts = {}
    with psycopg.connect(
        distributed_database.conninfo("costdb-tests"), autocommit=True
    ) as connection:
        for propagate in ("none", "local"):
            with connection.transaction():
                connection.execute(
                    f"SET LOCAL citus.propagate_set_commands = '{propagate}'".encode()
                )
                connection.execute(b"SET LOCAL enable_seqscan = off")
                connection.execute(b"SET LOCAL hnsw.ef_search = 1")
                counts[propagate] = connection.execute(top.encode(), (query,)).fetchone()
    reader = f"costdb_reader_{uuid.uuid4().hex[:8]}"
    run_sql(
        distributed_database,
        f"CREATE ROLE {reader} LOGIN PASSWORD 'reader'",
        f"GRANT SELECT ON prompt_embeddings TO {reader}",
        f"ALTER ROLE {reader} SET hnsw.ef_search = 1",
        f"ALTER ROLE {reader} SET enable_seqscan = off",
    )
    try:
        as_reader = distributed_database.with_params(user=reader, password="reader")
        counts["role"] = _rows(as_reader, top, query)[0]
    finally:
        run_sql(distributed_database, f"DROP OWNED BY {reader}", f"DROP ROLE {reader}")
    assert counts["none"] == (10,)  # the shards used their own ef_search (40)
    assert counts["local"] == (2 * SHARDS_PER_NODE,)  # one row per shard
    assert counts["role"] == (2 * SHARDS_PER_NODE,)


def _similarity_answers(
    database: DatabaseSettings,
) -> tuple[list[list[tuple[int, float, bool]]], list[tuple[Any, ...]]]:
    """costdb_similar_prompts for the five newest of 40 prompts (event ids left out: they
    differ between databases), and costdb_cache_savings over all of them."""
    ids = _embeddings(database, 40)
    similar = [
        [
            (rank, round(similarity, 6), exact)
            for rank, (_, similarity, exact, _) in enumerate(
                _rows(database, "SELECT * FROM costdb_similar_prompts(%s, 5, 0.1)", target)
            )
        ]
        for target in ids[-5:]
    ]
    savings = _rows(
        database,
        "SELECT * FROM costdb_cache_savings('default', '2026-11-01', '2026-11-02', 0.9)",
    )
    return similar, savings


def test_similar_prompts_and_cache_savings_match_a_single_node(
    distributed_database: DatabaseSettings, migrated_database: DatabaseSettings
) -> None:
    single = _similarity_answers(migrated_database)
    assert _similarity_answers(distributed_database) == single
    similar, savings = single
    assert any(similar) and savings[0][2] > 0  # something was found: the comparison can fail


def test_prices_sync_names_and_repriced_rollups_work_on_citus(
    distributed_database: DatabaseSettings,
) -> None:
    """The price tables and the two bookkeeping tables are reference tables: the sync, the
    name resolution and the roll-up's re-pricing pass run against distributed events."""
    at = datetime(2026, 10, 1, 12, tzinfo=UTC)
    _insert_event(distributed_database, model="gpt-4o-2024-08-06", created_at=at)
    synced = run_module(
        "costdb", "prices", "sync", env=url_environment(distributed_database), timeout=180
    )
    assert synced.returncode == 0, synced.stderr
    rolled = run_module(
        "costdb",
        "rollup",
        "--since",
        "2026-11-01T00:00Z",
        "--until",
        "2026-11-02T00:00Z",
        env=url_environment(distributed_database),
        timeout=180,
    )
    assert rolled.returncode == 0, rolled.stderr
    assert "1 day(s) whose prices changed" in rolled.stderr
    # 100 input tokens at $2.50 and 10 output at $10 per million, as gpt-4o.
    assert _rows(distributed_database, "SELECT total_cost::text FROM cost_aggregates") == [
        ("0.000350",)
    ]
