"""The images and the Compose stack on whatever Docker Engine answers, against the base image.

- Baseline: the pgvector base image alone, `docker run` until `pg_isready` answers over TCP
  inside it (a server with no schema, no roles, no check of anything).
- `docker compose up --wait` on an empty volume until every service is healthy (first boot,
  migrations, verification, the health server), and a second `up` on the same volume.
- The db image alone, `docker run` until Docker reports it healthy (first boot, migrations,
  the probe).
- Image sizes beside their bases.
Polls every 0.1 s, so the figures carry that resolution plus Docker's 1 s health interval
during the start period (`--start-interval`), which a user waits for too.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest

from bench.harness import Figure, median
from testsupport.containers import (
    DB_IMAGE,
    EXPORTER_IMAGE,
    REPO,
    TOOLS_IMAGE,
    Stack,
    build,
    engine_or_skip,
    run,
    run_detached,
)
from testsupport.servers import shared_tempdir

_POLL_SECONDS = 0.1


def _base_images() -> dict[str, str]:
    text = (REPO / "Dockerfile").read_text()
    return dict(re.findall(r"ARG (PGVECTOR_IMAGE|PYTHON_IMAGE)=(\S+)", text))


def _until(condition: Callable[[], bool], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the container did not get there in time")
        time.sleep(_POLL_SECONDS)


def _run_until(image: str, condition: Callable[[str], bool]) -> float:
    """Seconds from `docker run` of ``image`` until ``condition(container)`` holds."""
    began = time.monotonic()
    name = run_detached(image, "costdb-test-bench")
    try:
        _until(lambda: condition(name))
        return time.monotonic() - began
    finally:
        run("docker", "rm", "--force", "--volumes", name)


def _accepts_tcp(container: str) -> bool:
    probe = ["pg_isready", "--host=127.0.0.1", "--quiet"]
    return run("docker", "exec", container, *probe).returncode == 0


def _healthy(container: str) -> bool:
    state = run("docker", "inspect", "--format", "{{.State.Health.Status}}", container)
    return state.stdout.strip() == "healthy"


def _compose_up(stack: Stack) -> float:
    began = time.monotonic()
    result = stack.up()
    if result.returncode != 0:
        raise RuntimeError(result.stderr)
    return time.monotonic() - began


def _size_mb(image: str) -> float:
    size = run("docker", "image", "inspect", "--format", "{{.Size}}", image, check=True)
    return int(size.stdout) / 1e6


def container_figures(repeat: int) -> list[Figure]:
    try:
        engine_or_skip()
    except pytest.skip.Exception as skipped:
        print(f"containers: skipped ({skipped})")
        return []
    build("db", DB_IMAGE)
    build("tools", TOOLS_IMAGE)
    build("exporter", EXPORTER_IMAGE)
    bases = _base_images()
    baseline, alone, first_up, second_up = [], [], [], []
    for _ in range(repeat):
        baseline.append(_run_until(bases["PGVECTOR_IMAGE"], _accepts_tcp))
        alone.append(_run_until(DB_IMAGE, _healthy))
        stack = Stack(shared_tempdir("costdb-bench-compose-"))
        try:
            first_up.append(_compose_up(stack))
            stack.compose("stop")
            second_up.append(_compose_up(stack))
        finally:
            stack.down()
    ready = "base image: docker run until pg_isready (TCP)"
    section = "containers"
    return [
        Figure(
            section,
            "docker compose up --wait, empty volume -> healthy with schema",
            median(first_up),
            "s",
            ready,
            median(baseline),
            note="goal <= 2x",
        ),
        Figure(
            section,
            "db image alone: docker run -> healthy with schema",
            median(alone),
            "s",
            ready,
            median(baseline),
        ),
        Figure(
            section,
            "docker compose up --wait, second start (volume kept)",
            median(second_up),
            "s",
            ready,
            median(baseline),
        ),
        Figure(
            section,
            "db image size",
            _size_mb(DB_IMAGE),
            "MB",
            bases["PGVECTOR_IMAGE"],
            _size_mb(bases["PGVECTOR_IMAGE"]),
            note="goal: <= base + 80 MB",
        ),
        Figure(
            section,
            "tools image size",
            _size_mb(TOOLS_IMAGE),
            "MB",
            bases["PYTHON_IMAGE"],
            _size_mb(bases["PYTHON_IMAGE"]),
        ),
    ]
