"""``python -m bench``: run the benchmarks, write bench/RESULTS.md, print a summary."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench import (
    analytics,
    budgets,
    citus,
    containers,
    data,
    ingest,
    lifecycle,
    maintenance,
    prices,
    probe,
    reliability,
    schema_v2,
    similarity,
    staging,
)
from bench.harness import Figure, create_database, running_cluster
from costdb.local.cluster import PostgresCluster

RESULTS = Path(__file__).with_name("RESULTS.md")


@dataclass(frozen=True)
class Sizes:
    repeat: int
    lifecycle_repeat: int
    http_seconds: float
    events: int
    inserted_events: int
    embeddings: int
    similarity_queries: int
    soak_requests: int
    citus_events: int
    citus_embeddings: int


FULL = Sizes(
    repeat=15,
    lifecycle_repeat=3,
    http_seconds=10,
    events=1_000_000,
    inserted_events=1_000_000,
    embeddings=100_000,
    similarity_queries=20,
    soak_requests=100_000,
    citus_events=200_000,
    citus_embeddings=20_000,
)
QUICK = Sizes(
    repeat=5,
    lifecycle_repeat=1,
    http_seconds=3,
    events=20_000,
    inserted_events=5_000,
    embeddings=5_000,
    similarity_queries=5,
    soak_requests=5_000,
    citus_events=10_000,
    citus_embeddings=2_000,
)
# The server the data sections run on: memory for a 1M-row table and a 100k-vector HNSW
# build, and no checkpoint in the middle of a load.
SERVER_SETTINGS = {"shared_buffers": "2GB", "max_wal_size": "8GB", "maintenance_work_mem": "2GB"}


def _lifecycle(cluster: PostgresCluster, sizes: Sizes) -> list[Figure]:
    return lifecycle.startup_figures(sizes.lifecycle_repeat) + lifecycle.migration_figures(
        cluster, sizes.repeat // 3 or 1
    )


def _probe(cluster: PostgresCluster, sizes: Sizes) -> list[Figure]:
    database = create_database(cluster, "bench_probe", migrate=True)
    return probe.cli_figures(cluster, database, sizes.repeat) + probe.http_figures(
        database, rate=200, seconds=sizes.http_seconds
    )


def _data(cluster: PostgresCluster, sizes: Sizes) -> list[Figure]:
    """Ingest, then the analytics and similarity figures on the data just loaded."""
    database = create_database(cluster, "bench_data", migrate=True)
    # One time-ordered stream: the older part arrives by COPY, the newer by INSERT, so the
    # table stays in arrival order as the spec's append-only insight (and BRIN) assume.
    stream = data.events(sizes.events + sizes.inserted_events, seed=7)
    copied, inserted = stream.split(sizes.events)
    figures = ingest.ingest_figures(database, copied, inserted)
    del stream, copied, inserted
    figures += analytics.analytics_figures(database, sizes.repeat)
    figures += similarity.similarity_figures(database, sizes.embeddings, sizes.similarity_queries)
    return figures


def _schema_v2(cluster: PostgresCluster, sizes: Sizes) -> list[Figure]:
    return schema_v2.schema_v2_figures(cluster, data.events(sizes.events, seed=13))


def _maintenance(cluster: PostgresCluster, sizes: Sizes) -> list[Figure]:
    return maintenance.maintenance_figures(cluster, data.events(sizes.events, seed=17))


def _prices(cluster: PostgresCluster, sizes: Sizes) -> list[Figure]:
    return prices.prices_figures(cluster, data.events(sizes.events, seed=23), sizes.repeat)


def _budgets(cluster: PostgresCluster, sizes: Sizes) -> list[Figure]:
    """2M events in FULL: the size the budgets' goals are set at."""
    return budgets.budgets_figures(
        cluster, data.events(2 * sizes.events, seed=29), calls=sizes.repeat * 200
    )


def _reliability(cluster: PostgresCluster, sizes: Sizes) -> list[Figure]:
    database = create_database(cluster, "bench_reliability", migrate=True)
    return reliability.reliability_figures(database, burst=500, requests=sizes.soak_requests)


def _containers(_cluster: PostgresCluster, sizes: Sizes) -> list[Figure]:
    return containers.container_figures(sizes.lifecycle_repeat)


def _staging(_cluster: PostgresCluster, sizes: Sizes) -> list[Figure]:
    return staging.staging_figures(sizes.events, sizes.repeat)


def _citus(cluster: PostgresCluster, sizes: Sizes) -> list[Figure]:
    return citus.citus_figures(
        cluster,
        data.events(sizes.citus_events, seed=19),
        sizes.citus_embeddings,
        sizes.similarity_queries,
        sizes.repeat,
    )


SECTIONS: dict[str, Callable[[PostgresCluster, Sizes], list[Figure]]] = {
    "lifecycle": _lifecycle,
    "probe": _probe,
    "reliability": _reliability,
    "containers": _containers,
    "data": _data,
    "schema-v2": _schema_v2,
    "maintenance": _maintenance,
    "prices": _prices,
    "budgets": _budgets,
    "citus": _citus,
    "staging": _staging,
}


def _machine(cluster: PostgresCluster) -> list[str]:
    with psycopg.connect(cluster.settings().conninfo("bench")) as connection:
        server = connection.execute("SELECT version()").fetchone()
        vector = connection.execute(
            "SELECT default_version FROM pg_available_extensions WHERE name = 'vector'"
        ).fetchone()
    cpu = os.cpu_count()
    return [
        f"- machine: {platform.machine()}, {cpu} cores, {platform.system()} {platform.release()}",
        f"- python: {platform.python_version()}; psycopg {psycopg.__version__}",
        f"- server: {server[0] if server else '?'}",
        f"- pgvector: {vector[0] if vector else 'missing'}",
    ]


def _format(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    return f"{value:,.1f} {unit}".strip() if value >= 10 else f"{value:.3g} {unit}".strip()


def render(figures: Sequence[Figure], machine: Sequence[str], commentary: str) -> str:
    lines = [
        "# costdb benchmark results",
        "",
        *machine,
        "",
        "Every figure is the median of repeated runs, measured beside its baseline in the "
        "same run against the same server; ratio = figure / baseline.",
        "",
    ]
    for section in dict.fromkeys(figure.section for figure in figures):
        lines += [
            f"## {section}",
            "",
            "| figure | value | baseline | baseline value | ratio | note |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for f in (figure for figure in figures if figure.section == section):
            ratio = f"{f.ratio:.3g}x" if f.ratio is not None else "—"
            lines.append(
                f"| {f.what} | {_format(f.value, f.unit)} | {f.baseline_what or '—'} | "
                f"{_format(f.baseline, f.unit)} | {ratio} | {f.note} |"
            )
        lines.append("")
    return "\n".join(lines) + "\n" + commentary


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--sections", default=",".join(SECTIONS), help="comma-separated")
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args(argv)
    sizes = QUICK if arguments.quick else FULL
    chosen = [name.strip() for name in arguments.sections.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        parser.error(f"unknown sections: {', '.join(unknown)} (have: {', '.join(SECTIONS)})")
    started = time.monotonic()
    figures: list[Figure] = []
    with running_cluster(**SERVER_SETTINGS) as cluster:
        machine = _machine(cluster)
        for name in chosen:
            print(f"bench: {name} ...", file=sys.stderr, flush=True)
            figures += SECTIONS[name](cluster, sizes)
    machine.append(
        f"- sizes: {'quick' if arguments.quick else 'full'}; "
        f"took {time.monotonic() - started:.0f} s"
    )
    commentary_file = Path(__file__).with_name("COMMENTARY.md")
    commentary = commentary_file.read_text(encoding="utf-8") if commentary_file.exists() else ""
    arguments.output.write_text(render(figures, machine, commentary), encoding="utf-8")
    for figure in figures:
        ratio = f" ({figure.ratio:.2f}x {figure.baseline_what})" if figure.ratio else ""
        print(f"{figure.section}: {figure.what}: {_format(figure.value, figure.unit)}{ratio}")
    print(f"bench: wrote {arguments.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
