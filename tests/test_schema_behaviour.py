"""Rows through the models: round trips, server defaults, constraints and cascades."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from costdb.schema import Base, CostAggregate, Event, PromptAnalysis, PromptEmbedding
from tests.factories import (
    make_aggregate,
    make_analysis,
    make_embedding,
    make_event,
    make_pricing,
    unit_vector,
)

RowT = TypeVar("RowT", bound=Base)


def _reloaded(session: Session, row: RowT) -> RowT:
    """Commit, forget everything the session knows, and read ``row`` back from the database."""
    session.add(row)
    session.flush()
    key = row.__mapper__.primary_key_from_instance(row)
    session.commit()
    session.expunge_all()
    reloaded = session.get(type(row), key)
    assert reloaded is not None
    return reloaded


def _column_values(row: Base) -> dict[str, Any]:
    return {column.key: getattr(row, column.key) for column in row.__mapper__.column_attrs}


@pytest.mark.parametrize(
    "build",
    [
        lambda: make_event(
            parent_span_id="span-parent",
            user_id="user-7",
            project_id="acme",
            cached_tokens=1024,
            verified_cost_usd=Decimal("0.010400"),
            is_cache_hit=True,
            metadata_={"route": "/chat", "tags": ["beta"], "retries": 2},
        ),
        lambda: make_pricing(effective_date=datetime(2026, 1, 1, tzinfo=UTC)),
        lambda: make_analysis(make_event()),
        lambda: make_embedding(make_event(), embedding=[0.5] * 1536),
        lambda: make_aggregate(project_id="acme", period="day"),
    ],
    ids=["events", "model_pricing", "prompt_analysis", "prompt_embeddings", "cost_aggregates"],
)
def test_every_table_round_trips_through_its_model(session: Session, build: Any) -> None:
    row = build()
    session.add(row)
    session.flush()
    written = _column_values(row)
    assert _column_values(_reloaded(session, row)) == written


def test_server_defaults_fill_what_a_minimal_insert_leaves_out(session: Session) -> None:
    before = session.execute(select(func.now())).scalar_one()
    event = _reloaded(session, make_event())
    assert (event.project_id, event.cached_tokens, event.is_cache_hit) == ("default", 0, False)
    assert event.id is not None
    assert abs(event.created_at - before) < timedelta(minutes=1)
    aggregate = _reloaded(
        session,
        CostAggregate(
            feature="f", model="m", period="day", period_start=datetime(2026, 1, 1, tzinfo=UTC)
        ),
    )
    assert (aggregate.project_id, aggregate.total_cost, aggregate.total_tokens) == (
        "default",
        Decimal("0"),
        0,
    )
    assert (aggregate.call_count, aggregate.avg_latency) == (0, Decimal("0"))


@pytest.mark.parametrize(
    ("build", "constraint"),
    [
        (lambda: make_event(input_tokens=-1), "events_input_tokens_nonnegative_check"),
        (lambda: make_event(cached_tokens=-5), "events_cached_tokens_nonnegative_check"),
        (lambda: make_event(latency_ms=-1), "events_latency_ms_nonnegative_check"),
        (
            lambda: make_event(estimated_cost_usd=Decimal("-0.01")),
            "events_estimated_cost_usd_nonnegative_check",
        ),
        (
            lambda: make_pricing(output_price_per_1k=Decimal("-1")),
            "model_pricing_output_price_per_1k_nonnegative_check",
        ),
        (
            lambda: make_analysis(make_event(), redundancy_score=Decimal("1.5")),
            "prompt_analysis_redundancy_score_range_check",
        ),
        (lambda: make_aggregate(period="week"), "cost_aggregates_period_valid_check"),
        (lambda: make_aggregate(call_count=-1), "cost_aggregates_call_count_nonnegative_check"),
    ],
)
def test_check_constraints_reject_invalid_rows(
    session: Session, build: Any, constraint: str
) -> None:
    session.add(build())
    with pytest.raises(IntegrityError, match=constraint):
        session.flush()


def test_unique_indexes_reject_duplicates(session: Session) -> None:
    effective = datetime(2026, 3, 1, tzinfo=UTC)
    session.add(make_pricing(effective_date=effective))
    session.flush()
    session.add(make_pricing(effective_date=effective))
    with pytest.raises(IntegrityError, match="idx_model_pricing_uniq"):
        session.flush()


def test_an_event_has_at_most_one_embedding(session: Session) -> None:
    event = make_event()
    session.add(make_embedding(event))
    session.flush()
    session.add(PromptEmbedding(event_id=event.id, embedding=unit_vector(1), prompt_hash="h"))
    with pytest.raises(IntegrityError, match="idx_prompt_embeddings_event"):
        session.flush()


def test_an_embedding_of_the_wrong_dimension_is_refused(session: Session) -> None:
    session.add(make_embedding(make_event(), embedding=[1.0, 0.0, 0.0]))
    with pytest.raises(DataError, match="expected 1536 dimensions, not 3"):
        session.flush()


def test_deleting_an_event_deletes_its_analyses_and_embedding(session: Session) -> None:
    doomed, kept = make_event(), make_event()
    session.add_all(
        [
            make_analysis(doomed),
            make_analysis(doomed),
            make_embedding(doomed),
            make_analysis(kept),
            make_embedding(kept, embedding=unit_vector(2)),
        ]
    )
    session.commit()
    # Delete in SQL, as any client would: the database, not the ORM, must cascade.
    session.execute(text("DELETE FROM events WHERE id = :id"), {"id": doomed.id})
    session.commit()
    analyses = session.execute(select(PromptAnalysis.event_id)).scalars().all()
    embeddings = session.execute(select(PromptEmbedding.event_id)).scalars().all()
    assert analyses == [kept.id]
    assert embeddings == [kept.id]
    assert session.execute(select(func.count()).select_from(Event)).scalar_one() == 1
