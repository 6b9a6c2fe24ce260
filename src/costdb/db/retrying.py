"""Keep trying while the database is unavailable: starting, restarting, full, or not there yet.

Its own module so that the CLI probe, which classifies failures through ``costdb.db.connection``,
never imports ``logging`` (its start-up is compared with ``pg_isready``).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from costdb.db.connection import open_connection
from costdb.errors import DatabaseNotReady, DatabaseUnavailable
from costdb.settings import DatabaseSettings

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger("costdb.wait")
T = TypeVar("T")
_FIRST_DELAY_SECONDS = 0.25
_LONGEST_DELAY_SECONDS = 5.0


class WaitBudget:
    """``--wait``: the seconds one command may spend, in all, waiting for a database that does
    not accept connections. Every connection the command opens (the lock's polls, the
    migration's, the verification's) draws on what the earlier ones left, so ``--wait 60``
    never becomes 60 s per connection."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.left = seconds

    @classmethod
    def of(cls, wait: Wait) -> WaitBudget:
        return wait if isinstance(wait, WaitBudget) else cls(wait)


Wait = float | WaitBudget
"""A plain number of seconds (one connection's wait) or a command's shared ``WaitBudget``."""


def jittered(seconds: float) -> float:
    """``seconds``, spread over its upper half at random ("equal jitter"): processes started
    together (sidecars of one deployment, a start-up storm) stop polling in lockstep."""
    return seconds / 2 + random.uniform(0, seconds / 2)  # noqa: S311  (timing, not secrets)


def retry_while_unavailable(
    action: Callable[[int], T], settings: DatabaseSettings, wait: Wait
) -> T:
    """Run ``action(connect_timeout)`` until it stops failing with ``DatabaseUnavailable``.

    Refused connections, a server starting up or shutting down, a name that does not resolve
    yet, timeouts and "too many connections" are retried with exponential backoff (0.25 s
    doubling to 5 s, each wait jittered) until the wait runs out
    (``DatabaseNotReady``); a permanent failure (wrong password, missing role or database,
    SSL refused) is raised at once. A shared ``WaitBudget`` is charged the time spent waiting.
    ``action`` receives the connect timeout to use, never longer than the time left.
    """
    budget = WaitBudget.of(wait)
    deadline = time.monotonic() + budget.left
    delay = _FIRST_DELAY_SECONDS
    attempt = 0
    while True:
        attempt += 1
        remaining = deadline - time.monotonic()
        try:
            result = action(max(1, min(settings.connect_timeout, int(remaining) + 1)))
        except DatabaseUnavailable as error:
            if budget.seconds <= 0:
                raise  # no wait asked for: the failure itself is the answer
            remaining = deadline - time.monotonic()
            budget.left = max(0.0, remaining)  # only the time spent waiting is charged
            if remaining <= 0:
                raise DatabaseNotReady(
                    f"gave up after {budget.seconds:g} s ({attempt} attempts) waiting for "
                    f"{settings.target}: {error.reason}"
                ) from None
            log.info(
                "waiting for %s (attempt %d): %s",
                settings.target,
                attempt,
                error.reason,
                extra={"event": "waiting", "attempt": attempt},
            )
            time.sleep(min(jittered(delay), remaining))
            delay = min(delay * 2, _LONGEST_DELAY_SECONDS)
            continue
        if attempt > 1:
            budget.left = max(0.0, deadline - time.monotonic())
            log.info("%s accepts connections", settings.target, extra={"event": "database_ready"})
        return result


def open_connection_within(
    settings: DatabaseSettings, application_name: str, wait: Wait, **options: Any
) -> psycopg.Connection[Any]:
    """``open_connection``, retried while the database is unavailable (at most ``wait``)."""
    return retry_while_unavailable(
        lambda timeout: open_connection(
            replace(settings, connect_timeout=timeout), application_name, **options
        ),
        settings,
        wait,
    )
