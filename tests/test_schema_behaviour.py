"""Rows through the models: round trips, server defaults, constraints and cascades."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from costdb.schema import Base, CostAggregate, Event, PromptAnalysis, PromptEmbedding
from testsupport.factories import (
    make_aggregate,
    make_analysis,
    make_embedding,
    make_event,
    make_pricing,
    make_tier,
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
        lambda: make_event(
            id=uuid.uuid4(),  # a client-supplied id (version 4) is still accepted
            input_tokens=50_000,
            cached_tokens=30_000,
            cache_write_tokens=10_000,
            output_tokens=2_000,
            reasoning_tokens=1_500,
            status="error",
            error_type="rate_limit_exceeded",
            time_to_first_token_ms=300,
            operation="text_completion",
        ),
        lambda: make_tier(make_pricing(cache_write_price_per_1k=Decimal("0.003750"))),
    ],
    ids=[
        "events",
        "model_pricing",
        "prompt_analysis",
        "prompt_embeddings",
        "cost_aggregates",
        "events-v2-usage",
        "model_pricing_tiers",
    ],
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
    v2 = (event.cache_write_tokens, event.reasoning_tokens, event.status, event.operation)
    assert v2 == (0, 0, "ok", "chat")
    assert (event.error_type, event.time_to_first_token_ms) == (None, None)
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


def test_new_event_ids_are_uuid_version_7_in_time_order(session: Session) -> None:
    first = _reloaded(session, make_event())
    first_id, created_at = first.id, first.created_at
    time.sleep(0.002)  # version 7 orders by the millisecond
    second_id = _reloaded(session, make_event()).id
    assert (first_id.version, second_id.version) == (7, 7)
    assert first_id < second_id
    milliseconds = int.from_bytes(first_id.bytes[:6], "big")
    assert abs(milliseconds / 1000 - created_at.timestamp()) < 60


def test_a_spec_client_row_with_cache_reads_above_its_input_is_still_accepted(
    session: Session,
) -> None:
    """Before v2 the convention was unwritten (Anthropic reports cache reads beside the
    input): such rows are not refused, and are priced as cache reads with no fresh input."""
    event = _reloaded(session, make_event(input_tokens=100, cached_tokens=5_000))
    assert event.cached_tokens == 5_000


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
        (
            lambda: make_event(input_tokens=100, cached_tokens=80, cache_write_tokens=30),
            "events_cache_tokens_within_input_check",
        ),
        (
            lambda: make_event(cache_write_tokens=-1),
            "events_cache_write_tokens_nonnegative_check",
        ),
        (
            lambda: make_event(output_tokens=10, reasoning_tokens=11),
            "events_reasoning_within_output_check",
        ),
        (lambda: make_event(status="failed"), "events_status_valid_check"),
        (
            lambda: make_event(error_type="timeout"),  # status is still 'ok'
            "events_error_type_needs_failure_check",
        ),
        (
            lambda: make_event(latency_ms=100, time_to_first_token_ms=101),
            "events_time_to_first_token_range_check",
        ),
        (
            lambda: make_pricing(cache_read_price_per_1k=Decimal("-0.1")),
            "model_pricing_cache_read_price_per_1k_nonnegative_check",
        ),
        (
            lambda: make_tier(make_pricing(), min_input_tokens=0),
            "model_pricing_tiers_min_input_tokens_positive_check",
        ),
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


def test_prices_are_stored_exactly_and_read_back_as_written(session: Session) -> None:
    """Revision 0007: $0.0375 per million is 0.0000375 per 1k, which numeric(10,6) rounded to
    0.000038 (+1.3 %); a spec client's "0.002500" still reads back as "0.002500"."""
    session.execute(
        text(
            "INSERT INTO model_pricing (provider, model, input_price_per_1k, output_price_per_1k,"
            " effective_date) VALUES ('p', 'fine', '0.0000375', '0.000000000000000021', now()),"
            " ('p', 'spec', '0.002500', '0.010000', now())"
        )
    )
    rows: dict[str, str] = dict(
        session.execute(
            text(
                "SELECT model, input_price_per_1k::text || ' ' || output_price_per_1k::text"
                " FROM model_pricing"
            )
        ).all()
    )
    assert rows == {"fine": "0.0000375 0.000000000000000021", "spec": "0.002500 0.010000"}
    cost = session.execute(
        text("SELECT costdb_event_cost('p', 'fine', now(), 1000000, 0, 0, 0)")
    ).scalar_one()
    assert cost == Decimal("0.037500")
