"""Deterministic, realistic data for the benchmarks (seeded: the same rows on every run).

Events look like a multi-tenant LLM gateway's: a few large projects and a long tail (Zipf),
hundreds of features, Zipf-distributed users, several models with real price ratios, log-normal
token counts and latencies, and arrival times over 30 days with a daily cycle and bursts,
written in time order (append-only, as the spec's BRIN index assumes).
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray

ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
"""The end of the generated time range: queries ask for "the last 24 h" before it."""
SPAN = timedelta(days=30)
PROJECTS = 40
FEATURES = 300
USERS = 50_000
MODELS = (  # (provider, model, USD per 1k input tokens, USD per 1k output tokens)
    ("openai", "gpt-4o", 0.0025, 0.01),
    ("openai", "gpt-4o-mini", 0.00015, 0.0006),
    ("anthropic", "claude-sonnet-4", 0.003, 0.015),
    ("anthropic", "claude-haiku-3.5", 0.0008, 0.004),
    ("openai", "o3", 0.002, 0.008),
)
COLUMNS = (
    "id",
    "trace_id",
    "span_id",
    "project_id",
    "feature",
    "user_id",
    "provider",
    "model",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "latency_ms",
    "estimated_cost_usd",
    "is_cache_hit",
    "created_at",
)


def _zipf_choice(rng: np.random.Generator, n: int, size: int, exponent: float) -> NDArray[np.int64]:
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    return rng.choice(n, size=size, p=weights / weights.sum())


def _arrival_times(rng: np.random.Generator, count: int) -> NDArray[np.float64]:
    """Seconds before ANCHOR, sorted oldest first: a daily cycle plus bursts."""
    seconds = SPAN.total_seconds()
    hour = rng.uniform(0, 24, size=count * 2)
    keep = rng.uniform(0, 1, size=count * 2) < 0.35 + 0.65 * np.sin(np.pi * hour / 24) ** 2
    base = rng.uniform(0, seconds, size=count * 2)[keep][: int(count * 0.85)]
    burst_centres = rng.uniform(0, seconds, size=60)
    bursts = rng.choice(burst_centres, size=count - len(base)) + rng.normal(
        0, 300, count - len(base)
    )
    return np.sort(np.clip(np.concatenate([base, bursts]), 0, seconds))[::-1]


@dataclass(frozen=True)
class EventBatch:
    """Column arrays for ``count`` events; ``rows`` and ``csv`` render them for loading."""

    ids: list[uuid.UUID]
    columns: dict[str, NDArray[Any]]

    def split(self, at: int) -> tuple[EventBatch, EventBatch]:
        """The first ``at`` events (the oldest) and the rest."""
        head = {name: values[:at] for name, values in self.columns.items()}
        tail = {name: values[at:] for name, values in self.columns.items()}
        return EventBatch(self.ids[:at], head), EventBatch(self.ids[at:], tail)

    def rows(self, columns: Sequence[str] = COLUMNS) -> Iterator[tuple[object, ...]]:
        """Plain Python values (``tolist``): numpy scalars are slow for the driver to adapt."""
        values = [self.ids if name == "id" else self.columns[name].tolist() for name in columns]
        yield from zip(*values, strict=True)

    def csv(self, columns: Sequence[str] = COLUMNS) -> io.BytesIO:
        buffer = io.StringIO()
        for row in self.rows(columns):
            buffer.write("\t".join("\\N" if v is None else str(v) for v in row))
            buffer.write("\n")
        return io.BytesIO(buffer.getvalue().encode())


def events(count: int, seed: int = 7) -> EventBatch:
    rng = np.random.default_rng(seed)
    model_index = _zipf_choice(rng, len(MODELS), count, 1.0)
    inputs = np.maximum(1, rng.lognormal(7.0, 1.0, count)).astype(np.int64)
    outputs = np.maximum(1, rng.lognormal(5.5, 0.9, count)).astype(np.int64)
    cache_hit = rng.uniform(0, 1, count) < 0.2
    cached = np.where(cache_hit, (inputs * rng.uniform(0.3, 0.9, count)).astype(np.int64), 0)
    prices_in = np.array([m[2] for m in MODELS])[model_index]
    prices_out = np.array([m[3] for m in MODELS])[model_index]
    cost = np.round((inputs - cached * 0.9) / 1000 * prices_in + outputs / 1000 * prices_out, 6)
    seconds_before = _arrival_times(rng, count)
    created = [(ANCHOR - timedelta(seconds=float(s))).isoformat() for s in seconds_before]
    project = _zipf_choice(rng, PROJECTS, count, 1.3)
    feature = (project * 7 + _zipf_choice(rng, FEATURES // 10, count, 1.1)) % FEATURES
    users = _zipf_choice(rng, USERS, count, 1.05)
    anonymous = rng.uniform(0, 1, count) < 0.1
    ids = [uuid.UUID(int=int(v)) for v in rng.integers(0, 2**62, size=count)]
    return EventBatch(
        ids=ids,
        columns={
            "trace_id": np.array([f"tr-{i:09d}" for i in range(count)], dtype=object),
            "span_id": np.array([f"sp-{i:09d}" for i in range(count)], dtype=object),
            "project_id": np.array([f"project-{p:02d}" for p in project], dtype=object),
            "feature": np.array([f"feature-{f:03d}" for f in feature], dtype=object),
            "user_id": np.array(
                [None if a else f"user-{u:05d}" for u, a in zip(users, anonymous, strict=True)],
                dtype=object,
            ),
            "provider": np.array([MODELS[m][0] for m in model_index], dtype=object),
            "model": np.array([MODELS[m][1] for m in model_index], dtype=object),
            "input_tokens": inputs,
            "output_tokens": outputs,
            "cached_tokens": cached,
            "latency_ms": np.maximum(50, rng.lognormal(6.8, 0.6, count)).astype(np.int64),
            "estimated_cost_usd": cost,
            "is_cache_hit": np.array(["t" if c else "f" for c in cache_hit], dtype=object),
            "created_at": np.array(created, dtype=object),
        },
    )


def embeddings(count: int, dimensions: int, seed: int = 11) -> NDArray[np.float32]:
    """Unit vectors shaped like prompt embeddings: topics, templates within a topic, and
    near-duplicates of a template (the same prompt with other values filled in).

    Purely random points would make every neighbour nearly equidistant in 1536 dimensions,
    which no real prompt set looks like and no approximate index can rank.
    """
    rng = np.random.default_rng(seed)
    topics = rng.normal(size=(max(1, count // 400), dimensions)).astype(np.float32)
    templates = topics[rng.integers(0, len(topics), size=max(1, count // 20))]
    templates += 0.7 * rng.normal(size=templates.shape).astype(np.float32)
    chunks = []
    for start in range(0, count, 10_000):
        size = min(10_000, count - start)
        picks = templates[rng.integers(0, len(templates), size=size)]
        points = picks + 0.35 * rng.normal(size=(size, dimensions)).astype(np.float32)
        chunks.append(points / np.linalg.norm(points, axis=1, keepdims=True))
    return np.concatenate(chunks).astype(np.float32)
