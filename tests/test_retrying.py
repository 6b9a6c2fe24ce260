"""Retries and the lock poll are jittered: runners started together do not poll in lockstep."""

from __future__ import annotations

from costdb.db.retrying import jittered


def test_a_jittered_wait_stays_in_the_upper_half_and_varies() -> None:
    waits = [jittered(2.0) for _ in range(200)]
    assert all(1.0 <= wait <= 2.0 for wait in waits)
    assert len({round(wait, 6) for wait in waits}) > 150  # spread, not one value
    assert min(waits) < 1.25 and max(waits) > 1.75  # over the whole half
