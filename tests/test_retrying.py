"""Retries and the lock poll are jittered: runners started together do not poll in lockstep;
and ``--wait`` is one budget that every connection of a run draws on."""

from __future__ import annotations

import time

import pytest

from costdb.db.retrying import WaitBudget, jittered, open_connection_within
from costdb.errors import DatabaseNotReady
from costdb.local.cluster import free_port
from costdb.settings import DatabaseSettings


def test_a_jittered_wait_stays_in_the_upper_half_and_varies() -> None:
    waits = [jittered(2.0) for _ in range(200)]
    assert all(1.0 <= wait <= 2.0 for wait in waits)
    assert len({round(wait, 6) for wait in waits}) > 150  # spread, not one value
    assert min(waits) < 1.25 and max(waits) > 1.75  # over the whole half


def test_one_wait_budget_is_shared_by_every_connection_of_a_run(
    empty_database: DatabaseSettings,
) -> None:
    absent = empty_database.with_params(port=free_port())
    budget = WaitBudget(2)
    started = time.monotonic()
    with pytest.raises(DatabaseNotReady, match=r"gave up after 2 s"):
        open_connection_within(absent, "test", budget)
    first = time.monotonic() - started
    assert 2 <= first < 5
    assert budget.left == 0
    started = time.monotonic()
    with pytest.raises(DatabaseNotReady, match=r"gave up after 2 s \(1 attempts\)"):
        open_connection_within(absent, "test", budget)  # nothing left: no second 2 s
    assert time.monotonic() - started < 1
    open_connection_within(empty_database, "test", budget).close()  # up: connects at once


def test_a_connection_that_succeeds_at_once_spends_nothing(
    empty_database: DatabaseSettings,
) -> None:
    budget = WaitBudget(5)
    for _ in range(3):
        open_connection_within(empty_database, "test", budget).close()
    assert budget.left == 5
