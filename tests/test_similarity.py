"""Cosine similarity search on prompt_embeddings: exact results, and the HNSW index in use."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from numpy.typing import NDArray
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from costdb.schema import EMBEDDING_DIMENSIONS, Event, PromptEmbedding

pytestmark = pytest.mark.slow  # loads and indexes thousands of vectors

K = 10
START = datetime(2026, 11, 1, tzinfo=UTC)


def _clustered_vectors(count: int, clusters: int, seed: int) -> NDArray[np.float32]:
    """Unit vectors around ``clusters`` random centres: the shape real prompt embeddings have."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, EMBEDDING_DIMENSIONS))
    points = centres[rng.integers(0, clusters, size=count)] + 0.35 * rng.normal(
        size=(count, EMBEDDING_DIMENSIONS)
    )
    unit: NDArray[np.float32] = (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(
        np.float32
    )
    return unit


def _store(
    engine: Engine, vectors: NDArray[np.float32], projects: list[str] | None = None
) -> list[uuid.UUID]:
    """One event per vector, every prompt different; with ``projects``, in those projects and
    a second apart (the similarity function searches a project's earlier prompts)."""
    event_ids = [uuid.uuid4() for _ in range(len(vectors))]
    placed = (
        {}
        if projects is None
        else {
            event_id: {"project_id": project, "created_at": START + timedelta(seconds=i)}
            for i, (event_id, project) in enumerate(zip(event_ids, projects, strict=True))
        }
    )
    with Session(engine) as session:
        session.execute(
            insert(Event),
            [
                {
                    "id": event_id,
                    "trace_id": f"t{i}",
                    "span_id": f"s{i}",
                    "feature": "search",
                    "provider": "openai",
                    "model": "gpt-4o-mini",
                    "input_tokens": 10,
                    "output_tokens": 5,
                    "latency_ms": 100,
                    "estimated_cost_usd": 0,
                    **placed.get(event_id, {}),
                }
                for i, event_id in enumerate(event_ids)
            ],
        )
        session.execute(
            insert(PromptEmbedding),
            [
                {"event_id": event_id, "embedding": vector, "prompt_hash": f"h{i}"}
                for i, (event_id, vector) in enumerate(zip(event_ids, vectors, strict=True))
            ],
        )
        session.commit()
    with engine.connect() as connection:
        connection.execute(text("ANALYZE events"))
        connection.execute(text("ANALYZE prompt_embeddings"))
        connection.commit()
    return event_ids


def _exact_top_k(
    vectors: NDArray[np.float32], query: NDArray[np.float32], ids: list[uuid.UUID]
) -> list[uuid.UUID]:
    distances = 1.0 - vectors @ query  # unit vectors: cosine distance
    return [ids[i] for i in np.argsort(distances, kind="stable")[:K]]


def _nearest(session: Session, query: NDArray[np.float32]) -> list[uuid.UUID]:
    statement = (
        select(PromptEmbedding.event_id)
        .order_by(PromptEmbedding.embedding.cosine_distance(query))
        .limit(K)
    )
    return list(session.execute(statement).scalars())


def test_cosine_query_returns_the_true_nearest_neighbours(migrated_engine: Engine) -> None:
    vectors = _clustered_vectors(300, clusters=12, seed=1)
    ids = _store(migrated_engine, vectors)
    queries = _clustered_vectors(5, clusters=12, seed=1)  # same centres, new points
    with Session(migrated_engine) as session:
        session.execute(text("SET LOCAL enable_indexscan = off"))  # exact scan
        for query in queries:
            assert _nearest(session, query) == _exact_top_k(vectors, query, ids)


@pytest.fixture
def large_embedding_table(migrated_engine: Engine) -> tuple[NDArray[np.float32], list[uuid.UUID]]:
    vectors = _clustered_vectors(2000, clusters=30, seed=2)
    return vectors, _store(migrated_engine, vectors)


def test_similarity_search_uses_hnsw_and_finds_the_neighbours(
    migrated_engine: Engine, large_embedding_table: tuple[NDArray[np.float32], list[uuid.UUID]]
) -> None:
    vectors, ids = large_embedding_table
    queries = _clustered_vectors(20, clusters=30, seed=2)
    with Session(migrated_engine) as session:
        plan = session.execute(
            text(
                "EXPLAIN (FORMAT JSON) SELECT event_id FROM prompt_embeddings"
                " ORDER BY embedding <=> CAST(:q AS vector) LIMIT 10"
            ),
            {"q": str(queries[0].tolist())},
        ).scalar_one()
        found = [set(_nearest(session, query)) for query in queries]
    assert "idx_prompt_embeddings_hnsw" in json.dumps(plan)
    recall = np.mean(
        [
            len(hits & set(_exact_top_k(vectors, query, ids))) / K
            for hits, query in zip(found, queries, strict=True)
        ]
    )
    assert recall >= 0.9


def _similar(
    engine: Engine, target: uuid.UUID, exact_prompts: int | None
) -> tuple[list[uuid.UUID], int]:
    """costdb_similar_prompts' top-10 (any similarity) and the HNSW index scans it made."""
    scans = text("SELECT pg_stat_get_xact_numscans('idx_prompt_embeddings_hnsw'::regclass)")
    with engine.connect() as connection:
        if exact_prompts is not None:
            connection.execute(
                text("SELECT set_config('costdb.similar_exact_prompts', :n, true)"),
                {"n": str(exact_prompts)},
            )
        before = connection.execute(scans).scalar_one()  # counts not yet flushed are in it
        found = list(
            connection.execute(
                text("SELECT event_id FROM costdb_similar_prompts(:t, 10, 0.0)"), {"t": target}
            ).scalars()
        )
        after = connection.execute(scans).scalar_one()
        connection.rollback()
    return found, int(after - before)


def test_similar_prompts_search_a_small_project_exactly_and_a_large_one_through_hnsw(
    migrated_engine: Engine,
) -> None:
    """A project with few earlier prompts is searched over its own rows (exact, no index
    scan); a larger one through the HNSW index; costdb.similar_exact_prompts sets the bound."""
    vectors = _clustered_vectors(2000, clusters=30, seed=3)
    projects = ["small" if i % 20 == 0 else "large" for i in range(len(vectors))]
    ids = _store(migrated_engine, vectors, projects)

    def truth(target: int) -> list[uuid.UUID]:
        earlier = [i for i in range(target) if projects[i] == projects[target]]
        distances = 1.0 - vectors[earlier] @ vectors[target]
        return [ids[earlier[i]] for i in np.argsort(distances, kind="stable")[:K]]

    small, large = len(vectors) - 20, len(vectors) - 1  # each project's newest prompt
    found, scans = _similar(migrated_engine, ids[small], exact_prompts=None)
    assert (found, scans) == (truth(small), 0)  # 99 earlier prompts: searched exactly
    found, scans = _similar(migrated_engine, ids[large], exact_prompts=None)
    assert scans == 1  # 1,899 earlier prompts: more than 1,000, through the index
    assert len(set(found) & set(truth(large))) >= 9  # approximate, and close
    found, scans = _similar(migrated_engine, ids[large], exact_prompts=5000)
    assert (found, scans) == (truth(large), 0)


@pytest.mark.parametrize("setting", ["many", "-1", "1e3"])
def test_a_bad_exact_search_bound_is_named(migrated_engine: Engine, setting: str) -> None:
    with migrated_engine.connect() as connection:
        connection.execute(
            text("SELECT set_config('costdb.similar_exact_prompts', :value, false)"),
            {"value": setting},
        )
        with pytest.raises(DBAPIError) as failure:
            connection.execute(
                text("SELECT * FROM costdb_similar_prompts(:t)"), {"t": uuid.uuid4()}
            )
    assert str(failure.value.orig).startswith(
        f"costdb.similar_exact_prompts must be a number of prompts (0 or more), not '{setting}'"
    )
