"""A long-running command's proof of life: a file touched after each successful run.

``costdb rollup --every 60s --heartbeat FILE`` touches FILE after every run that succeeded;
``python -m costdb.maintenance.heartbeat FILE SECONDS`` (a container's health check) exits 0
when FILE was touched within SECONDS, 1 with one line otherwise. Healthy therefore means "the
last runs succeeded", not merely "the process is up".
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()  # sets the modification time to now, existing or not


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[1].isdigit():
        print("usage: python -m costdb.maintenance.heartbeat FILE SECONDS", file=sys.stderr)
        return 2
    path, limit = Path(argv[0]), int(argv[1])
    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        print(f"unhealthy: no successful run yet ({path} does not exist)")
        return 1
    if age > limit:
        print(f"unhealthy: the last successful run was {age:.0f} s ago (limit {limit} s)")
        return 1
    print(f"healthy: the last successful run was {age:.0f} s ago")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
