"""Citus mode: the same rows and queries on one PostgreSQL and on a Citus coordinator with two
workers, at two shard counts. Every server runs on this one machine, so Citus can only show its
overhead here (planning, fan-out, merging, one more network hop), never its scale-out: the
ratios say what the distribution costs a query, not what more machines would win."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import psycopg
from numpy.typing import NDArray
from pgvector.psycopg import register_vector

from bench import analytics, similarity
from bench.data import EventBatch, embeddings
from bench.harness import Figure, create_database, median, timed_runs
from bench.ingest import copy_rows
from costdb.local.cluster import PostgresCluster
from costdb.migrate.sidecar import SidecarOptions, run_sidecar
from costdb.schema import EMBEDDING_DIMENSIONS
from costdb.settings import DatabaseSettings
from testsupport.citus_servers import citus_cluster

SECTION = "citus"
SHARD_COUNTS = (8, 32)  # costdb's default for two workers; Citus's own default
NODE_SETTINGS = {"shared_buffers": "1GB", "max_wal_size": "4GB", "maintenance_work_mem": "1GB"}
LOOKUPS = 200


def _copy_rate(database: DatabaseSettings, batch: EventBatch) -> float:
    with psycopg.connect(database.conninfo("bench")) as connection:
        seconds = copy_rows(connection, "events", batch)
        connection.execute(b"ANALYZE events")
        connection.commit()
    return len(batch.ids) / seconds


def _lookups(database: DatabaseSettings, ids: list[object]) -> float:
    """p50 of ``SELECT * FROM events WHERE id = ...``, each of ``ids`` once."""
    with psycopg.connect(database.conninfo("bench")) as connection:
        lookup = b"SELECT * FROM events WHERE id = %s"
        connection.execute(lookup, (ids[0],)).fetchall()  # warm
        each = iter(ids)
        times = timed_runs(lambda: connection.execute(lookup, (next(each),)).fetchall(), len(ids))
    return median(times)


def _exact_top_k(
    stored: NDArray[np.float32], ids: list[object], probe: NDArray[np.float32]
) -> set[object]:
    nearest = np.argsort(1.0 - stored @ probe, kind="stable")[: similarity.K]
    return {ids[index] for index in nearest}


def _similarity(
    database: DatabaseSettings, stored: NDArray[np.float32], queries: int
) -> tuple[float, float]:
    """p50 of a global top-10 through HNSW and its recall against an exact answer (numpy)."""
    with psycopg.connect(database.conninfo("bench")) as connection:
        register_vector(connection)
        _, event_ids = similarity.load_embeddings(connection, stored)
        noise = np.random.default_rng(12).normal(0, 0.01, (queries, EMBEDDING_DIMENSIONS))
        probes = (stored[:queries] + noise).astype(np.float32)
        connection.execute(similarity.QUERY.encode(), (probes[0],)).fetchall()  # warm
        times, found = similarity.search(
            connection, similarity.QUERY, [(p,) for p in probes], exact=False
        )
    truth = [_exact_top_k(stored, event_ids, probe) for probe in probes]
    return median(times), similarity.recall_at_k(stored, event_ids, probes, found, truth)


def _measure(
    database: DatabaseSettings,
    batch: EventBatch,
    stored: NDArray[np.float32],
    queries: int,
    repeat: int,
) -> dict[str, float]:
    results = {"COPY ingest, events/s": _copy_rate(database, batch)}
    with psycopg.connect(database.conninfo("bench")) as connection:
        for name, (seconds, _) in analytics.query_timings(connection, repeat).items():
            results[f"{name}, p50 ms"] = seconds * 1000
    picks = np.random.default_rng(5).choice(len(batch.ids), LOOKUPS, replace=False)
    sample: list[object] = [batch.ids[index] for index in picks]
    results["lookup by id, p50 ms"] = _lookups(database, sample) * 1000
    top, recall = _similarity(database, stored, queries)
    results[f"similarity top-{similarity.K}, {len(stored):,} embeddings, p50 ms"] = top * 1000
    results[f"similarity top-{similarity.K}, recall"] = recall
    return results


@contextmanager
def _targets(single: PostgresCluster) -> Iterator[list[tuple[str, DatabaseSettings]]]:
    with citus_cluster(worker_count=2, **NODE_SETTINGS) as cluster:
        targets = [("single node", create_database(single, "bench_citus_baseline", migrate=True))]
        for shards in SHARD_COUNTS:
            database = cluster.create_database()
            run_sidecar(database, SidecarOptions(citus_shard_count=shards))
            targets.append((f"Citus, 2 workers, {shards} shards", database))
        yield targets


def citus_figures(
    single: PostgresCluster, batch: EventBatch, vectors: int, queries: int, repeat: int
) -> list[Figure]:
    stored = embeddings(vectors, EMBEDDING_DIMENSIONS)
    with _targets(single) as targets:
        measured: dict[str, dict[str, float]] = {}
        for label, database in targets:
            measured[label] = _measure(database, batch, stored, queries, repeat)
    baseline_label = targets[0][0]
    baseline = measured[baseline_label]
    figures = []
    for label, results in list(measured.items())[1:]:
        for what, value in results.items():
            unit = "" if what.endswith("recall") else ("ev/s" if "events/s" in what else "ms")
            figures.append(
                Figure(
                    SECTION,
                    f"{label}: {what}",
                    value,
                    unit,
                    baseline_label,
                    baseline[what],
                    note=f"{len(batch.ids):,} events",
                )
            )
    return figures
