"""Similarity: top-10 cosine neighbours among stored 1536-d prompt embeddings, through the
HNSW index (p50 latency, recall@10) beside the exact scan the index replaces: over all
prompts, within one project (the duplicate-prompt search: pgvector's defaults, then the
settings ``costdb_similar_prompts`` runs with), and through a ``halfvec`` expression index; then
``costdb_similar_prompts`` itself (a stored prompt's earlier neighbours in its project) for
targets drawn across the projects, beside the exact answer.

The embeddings are clustered like prompts (topics, templates, near-duplicates) and belong to
the events' projects (Zipf: a few large tenants, a long tail)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import psycopg
from numpy.typing import NDArray
from pgvector.psycopg import register_vector

from bench.data import embeddings
from bench.harness import Figure, median, percentile
from costdb.schema import EMBEDDING_DIMENSIONS
from costdb.settings import DatabaseSettings

K = 10
QUERY = "SELECT event_id FROM prompt_embeddings ORDER BY embedding <=> %s LIMIT 10"
PROJECT_QUERY = (
    "SELECT p.event_id FROM prompt_embeddings p JOIN events e ON e.id = p.event_id"
    " WHERE e.project_id = %s ORDER BY p.embedding <=> %s LIMIT 10"
)
HALFVEC = f"halfvec({EMBEDDING_DIMENSIONS})"
HALFVEC_QUERY = (
    f"SELECT event_id FROM prompt_embeddings ORDER BY embedding::{HALFVEC} <=> %s::{HALFVEC}"
    " LIMIT 10"
)
# A stored prompt's nearest earlier prompts in its project, exactly (run without index scans).
TARGET_TRUTH = (
    "WITH t AS (SELECT e.id, e.project_id, e.created_at, p.embedding FROM events e"
    " JOIN prompt_embeddings p ON p.event_id = e.id WHERE e.id = %s)"
    " SELECT p.event_id FROM t, prompt_embeddings p JOIN events e ON e.id = p.event_id"
    " WHERE e.project_id = t.project_id AND e.created_at < t.created_at"
    " AND p.event_id <> t.id ORDER BY p.embedding <=> t.embedding LIMIT 10"
)
FUNCTION_CALL = "SELECT event_id FROM costdb_similar_prompts(%s, 10, 0.0)"
HNSW_SCANS = "SELECT pg_stat_get_xact_numscans('idx_prompt_embeddings_hnsw'::regclass)"
FUNCTION_TARGETS = 100
# What costdb_similar_prompts sets for itself (revision 0005); pgvector's defaults otherwise.
FUNCTION_SETTINGS = {"hnsw.ef_search": "100", "hnsw.iterative_scan": "relaxed_order"}
DEFAULT_SETTINGS = {"hnsw.ef_search": "40", "hnsw.iterative_scan": "off"}


def load_embeddings(
    connection: psycopg.Connection[Any], vectors: NDArray[np.float32]
) -> tuple[float, list[object]]:
    """Store ``vectors`` for the oldest events; return the HNSW build time (s) and the ids."""
    count = len(vectors)
    event_ids = [
        row[0]
        for row in connection.execute(
            "SELECT id FROM events ORDER BY created_at LIMIT %s", (count,)
        )
    ]
    if len(event_ids) < count:
        raise RuntimeError(f"similarity needs {count} events, the database has {len(event_ids)}")
    connection.execute(b"DROP INDEX IF EXISTS idx_prompt_embeddings_hnsw")
    with (
        connection.cursor() as cursor,
        cursor.copy(
            b"COPY prompt_embeddings (event_id, embedding, prompt_hash)"
            b" FROM STDIN WITH (FORMAT BINARY)"
        ) as copy,
    ):
        copy.set_types(["uuid", "vector", "text"])
        for index, (event_id, vector) in enumerate(zip(event_ids, vectors, strict=True)):
            copy.write_row((event_id, vector, f"h{index}"))
    connection.commit()
    connection.execute(b"SET maintenance_work_mem = '2GB'")
    connection.execute(b"SET max_parallel_maintenance_workers = 1")
    started = time.perf_counter()
    connection.execute(
        b"CREATE INDEX idx_prompt_embeddings_hnsw ON prompt_embeddings"
        b" USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
    )
    connection.commit()
    build = time.perf_counter() - started
    connection.execute(b"ANALYZE prompt_embeddings")
    connection.commit()
    return build, event_ids


def search(
    connection: psycopg.Connection[Any],
    sql: str,
    arguments: Sequence[tuple[Any, ...]],
    exact: bool,
) -> tuple[list[float], list[set[object]]]:
    connection.execute(b"SET enable_indexscan = " + (b"off" if exact else b"on"))
    times, results = [], []
    for values in arguments:
        started = time.perf_counter()
        rows = connection.execute(sql.encode(), values).fetchall()
        times.append(time.perf_counter() - started)
        results.append({row[0] for row in rows})
    connection.execute(b"SET enable_indexscan = on")
    return times, results


def _settings(connection: psycopg.Connection[Any], settings: dict[str, str]) -> None:
    for name, value in settings.items():
        connection.execute("SELECT set_config(%s, %s, false)", (name, value))


def _projects(connection: psycopg.Connection[Any], event_ids: list[object]) -> list[str]:
    rows = dict(
        connection.execute(
            "SELECT id, project_id FROM events WHERE id = ANY(%s)", (event_ids,)
        ).fetchall()
    )
    return [rows[event_id] for event_id in event_ids]


def recall_at_k(
    stored: NDArray[np.float32],
    event_ids: list[object],
    probes: NDArray[np.float32],
    found: list[set[object]],
    exact: list[set[object]],
) -> float:
    """recall@10 as ann-benchmarks counts it: a neighbour found counts when it is no farther
    than the true 10th nearest (within 1e-3), so that a tie among near-duplicate prompts is
    not scored as a miss."""
    position = {event_id: index for index, event_id in enumerate(event_ids)}
    hits = []
    for probe, returned, truth in zip(probes, found, exact, strict=True):

        def distance(event_id: object, probe: NDArray[np.float32] = probe) -> float:
            return float(1.0 - stored[position[event_id]] @ probe)

        threshold = max(distance(event_id) for event_id in truth) + 1e-3
        hits.append(sum(distance(event_id) <= threshold for event_id in returned) / K)
    return float(np.mean(hits))


def _halfvec_index(connection: psycopg.Connection[Any]) -> tuple[float, int]:
    started = time.perf_counter()
    connection.execute(
        f"CREATE INDEX bench_halfvec ON prompt_embeddings USING hnsw"
        f" ((embedding::{HALFVEC}) halfvec_cosine_ops) WITH (m = 16, ef_construction = 64)".encode()
    )
    connection.commit()
    build = time.perf_counter() - started
    row = connection.execute(b"SELECT pg_relation_size('bench_halfvec')").fetchone()
    return build, int(row[0]) if row else 0


def _hnsw_scans(connection: psycopg.Connection[Any]) -> int:
    """Scans of the HNSW index in this transaction so far."""
    row = connection.execute(HNSW_SCANS.encode()).fetchone()
    return int(row[0]) if row else 0


def function_figures(
    connection: psycopg.Connection[Any], stored: NDArray[np.float32], event_ids: list[object]
) -> list[Figure]:
    """costdb_similar_prompts for stored prompts of the newer half (each with earlier prompts
    in its project), drawn at random: p50 and p99 beside the exact search, recall, and how
    many went through the HNSW index (the others were searched exactly over their project)."""
    rng = np.random.default_rng(13)
    half = len(event_ids) // 2
    picked = sorted(rng.choice(np.arange(half, len(event_ids)), FUNCTION_TARGETS, replace=False))
    times: list[float] = []
    found: list[set[object]] = []
    through_index = 0
    for index in picked:
        scans_before = _hnsw_scans(connection)
        started = time.perf_counter()
        rows = connection.execute(FUNCTION_CALL.encode(), (event_ids[index],)).fetchall()
        times.append(time.perf_counter() - started)
        through_index += _hnsw_scans(connection) > scans_before
        found.append({row[0] for row in rows})
    exact_times, truth = search(
        connection, TARGET_TRUTH, [(event_ids[i],) for i in picked], exact=True
    )
    recall = recall_at_k(stored, event_ids, stored[picked], found, truth)
    return [
        Figure(
            "similarity",
            f"costdb_similar_prompts: top-{K} earlier prompts in the project, p50",
            median(times) * 1000,
            "ms",
            "the same search, exact (no vector index)",
            median(exact_times) * 1000,
            note=f"p99 {percentile(times, 0.99) * 1000:.1f} ms (goal <= 50), exact p99"
            f" {percentile(exact_times, 0.99) * 1000:.1f} ms; {FUNCTION_TARGETS} targets,"
            f" {through_index} through HNSW, the others exact over their project",
        ),
        Figure(
            "similarity",
            "costdb_similar_prompts: recall@10 against the exact search",
            recall,
            "",
            note="ann-benchmarks' recall: ties with the true 10th nearest count",
        ),
    ]


def similarity_figures(database: DatabaseSettings, count: int, queries: int) -> list[Figure]:
    with psycopg.connect(database.conninfo("bench")) as connection:
        # Never prepared: a prepared plan would keep using the index after enable_indexscan
        # is turned off (planner settings do not invalidate cached plans).
        connection.prepare_threshold = None
        register_vector(connection)
        stored = embeddings(count, EMBEDDING_DIMENSIONS)
        build, event_ids = load_embeddings(connection, stored)
        # A query is a new prompt of a known kind: a stored one, slightly changed, searched
        # for within the project of the event it was taken from.
        noise = np.random.default_rng(12).normal(0, 0.01, (queries, EMBEDDING_DIMENSIONS))
        probes = (stored[:queries] + noise).astype(np.float32)
        projects = _projects(connection, event_ids[:queries])
        everywhere = [(probe,) for probe in probes]
        per_project = list(zip(projects, probes, strict=True))
        connection.execute(QUERY.encode(), (probes[0],)).fetchall()  # warm
        hnsw_times, hnsw_hits = search(connection, QUERY, everywhere, exact=False)
        plan = connection.execute(b"EXPLAIN " + QUERY.encode(), (probes[0],)).fetchall()
        exact_times, exact_hits = search(connection, QUERY, everywhere, exact=True)
        project_exact_times, project_truth = search(
            connection, PROJECT_QUERY, per_project, exact=True
        )
        _settings(connection, DEFAULT_SETTINGS)
        _, default_hits = search(connection, PROJECT_QUERY, per_project, exact=False)
        _settings(connection, FUNCTION_SETTINGS)
        project_times, project_hits = search(connection, PROJECT_QUERY, per_project, exact=False)
        _settings(connection, DEFAULT_SETTINGS)
        size = connection.execute(
            b"SELECT pg_relation_size('idx_prompt_embeddings_hnsw'),"
            b" pg_table_size('prompt_embeddings')"
        ).fetchone()
        functions = function_figures(connection, stored, event_ids)
        half_build, half_size = _halfvec_index(connection)
        connection.execute(b"DROP INDEX idx_prompt_embeddings_hnsw")  # only halfvec is left
        half_times, half_hits = search(connection, HALFVEC_QUERY, everywhere, exact=False)
        half_plan = connection.execute(
            b"EXPLAIN " + HALFVEC_QUERY.encode(), (probes[0],)
        ).fetchall()
        connection.rollback()
    recall = recall_at_k(stored, event_ids, probes, hnsw_hits, exact_hits)
    project_recall = recall_at_k(stored, event_ids, probes, project_hits, project_truth)
    default_recall = recall_at_k(stored, event_ids, probes, default_hits, project_truth)
    half_recall = recall_at_k(stored, event_ids, probes, half_hits, exact_hits)
    uses_index = any("idx_prompt_embeddings_hnsw" in str(line) for line in plan)
    half_uses_index = any("bench_halfvec" in str(line) for line in half_plan)
    index_mib, table_mib = (size[0] / 2**20, size[1] / 2**20) if size else (0.0, 0.0)
    return [
        Figure(
            "similarity",
            f"top-{K} cosine via HNSW, {count:,} x {EMBEDDING_DIMENSIONS}-d, p50",
            median(hnsw_times) * 1000,
            "ms",
            "exact scan (no index)",
            median(exact_times) * 1000,
            note=f"plan uses HNSW: {uses_index}; {queries} queries",
        ),
        Figure(
            "similarity",
            "recall@10 of HNSW (ef_search 40) against the exact scan",
            recall,
            "",
            note="ann-benchmarks' recall: ties with the true 10th nearest count",
        ),
        Figure(
            "similarity",
            f"top-{K} within one project, costdb_similar_prompts' settings "
            "(ef_search 100, iterative relaxed_order), p50",
            median(project_times) * 1000,
            "ms",
            "exact (no vector index)",
            median(project_exact_times) * 1000,
            note=f"p99 {percentile(project_times, 0.99) * 1000:.1f} ms, exact p99 "
            f"{percentile(project_exact_times, 0.99) * 1000:.1f} ms",
        ),
        Figure(
            "similarity",
            "recall@10 within one project, costdb_similar_prompts' settings",
            project_recall,
            "",
            "pgvector's defaults (ef_search 40, no iterative scan)",
            default_recall,
            note="the project filter drops candidates after the index: defaults starve it",
        ),
        Figure(
            "similarity",
            "HNSW index build (m=16, ef_construction=64)",
            build,
            "s",
            note=f"index {index_mib:,.0f} MiB, table {table_mib:,.0f} MiB",
        ),
        Figure(
            "similarity",
            "halfvec expression index: size (vs vector index)",
            half_size / 2**20,
            "MiB",
            "vector index",
            index_mib,
            note=f"build {half_build:.1f} s vs {build:.1f} s",
        ),
        Figure(
            "similarity",
            "halfvec expression index: top-10 p50",
            median(half_times) * 1000,
            "ms",
            "vector index",
            median(hnsw_times) * 1000,
            note=f"recall@10 {half_recall:.3f} vs {recall:.3f}; plan uses it: {half_uses_index}",
        ),
        *functions,
    ]
