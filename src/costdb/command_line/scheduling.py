"""Once, or at an interval until told to stop: the long-running mode of maintenance commands.

In the long-running mode (Compose's ``rollup`` service) a failed run is logged in one line and
the next run comes at the next tick: a database restart or a transient error must not end the
service. SIGTERM and SIGINT end it between runs (exit 0), or interrupt the wait at once.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import FrameType

from costdb.errors import CostdbError
from costdb.maintenance.heartbeat import touch

log = logging.getLogger("costdb")


def run_every(
    interval: timedelta | None, action: Callable[[], None], heartbeat: Path | None = None
) -> None:
    """``action()`` once (errors propagate), or every ``interval`` until a stop signal;
    ``heartbeat`` is touched after each run that succeeded."""

    def run() -> None:
        action()
        if heartbeat is not None:
            touch(heartbeat)

    if interval is None:
        run()
        return
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("%s: stopping after this run", signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, request_stop)
    while not stop.is_set():
        started = time.monotonic()
        try:
            run()
        except CostdbError as exc:
            log.error("error: %s (next run in %s)", exc, interval, extra={"event": "error"})
        stop.wait(max(0.0, interval.total_seconds() - (time.monotonic() - started)))
