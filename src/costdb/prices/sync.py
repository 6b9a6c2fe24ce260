"""``costdb prices sync``: a price list into ``model_pricing`` and its tiers, as history.

The rules, each one tested:

- **Idempotent**: a model whose listed history is already stored is not written again.
- **History is never rewritten**: rows are only ever inserted. A dated price the database does
  not have yet is inserted from its date; when the price the list has in effect *now* differs
  from the one the database has in effect now (the list changed an undated price, or
  corrected a date's), a new row takes effect from the sync's own time, so every call already
  priced keeps its price.
- **Prices entered by hand win**: a (provider, model) with any ``source = 'manual'`` row is
  never written by a sync (neither changed nor shadowed by a newer synced row).
- **Roll-ups follow**: each model written is recorded for ``costdb rollup`` to recompute the
  periods it changes (``costdb.prices.repricing``).
- **The list's match rules follow** (``costdb.prices.match_rules``): stored beside the prices,
  replaced only when they changed, so that the database resolves a new name by itself.
- **All or nothing**: one transaction; a second sync waits for the first (an advisory lock,
  bounded by the session's ``lock_timeout``) and then finds nothing to do.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from costdb.db.maintenance_session import single_row
from costdb.prices.conversion import ALWAYS, ListedModel, convert
from costdb.prices.match_rules import RuleRow, exact_names, rule_rows, store_rules
from costdb.prices.names import NameMatcher, resolve_listed_names, resolve_names
from costdb.prices.pricing import Price, Rates, Tier, price_in_effect
from costdb.prices.repricing import record_repricing

if TYPE_CHECKING:
    import psycopg

    from costdb.prices.price_list import PriceList

SYNC_LOCK = (0x636F7374, 0x70726963)  # "cost", "pric": the sync's advisory lock
SOURCE = "genai-prices"

STORED = """
SELECT p.provider, p.model, p.source, p.effective_date, p.input_price_per_1k,
       p.output_price_per_1k, p.cache_read_price_per_1k, p.cache_write_price_per_1k,
       coalesce(json_agg(json_build_array(t.min_input_tokens, t.input_price_per_1k::text,
                                          t.output_price_per_1k::text,
                                          t.cache_read_price_per_1k::text,
                                          t.cache_write_price_per_1k::text)
                         ORDER BY t.min_input_tokens) FILTER (WHERE t.id IS NOT NULL), '[]')
FROM model_pricing p LEFT JOIN model_pricing_tiers t ON t.pricing_id = p.id
GROUP BY p.id
"""
INSERT_PRICE = """
INSERT INTO model_pricing (id, provider, model, effective_date, input_price_per_1k,
                           output_price_per_1k, cache_read_price_per_1k,
                           cache_write_price_per_1k, source)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
"""
INSERT_TIER = """
INSERT INTO model_pricing_tiers (pricing_id, min_input_tokens, input_price_per_1k,
                                 output_price_per_1k, cache_read_price_per_1k,
                                 cache_write_price_per_1k)
VALUES (%s, %s, %s, %s, %s, %s)
"""


@dataclass
class SyncReport:
    """What a sync did (or, with ``dry_run``, would do)."""

    label: str
    dry_run: bool
    listed: int = 0
    rows_written: int = 0
    models_changed: list[str] = field(default_factory=list)
    rules_written: int = 0
    names_resolved: int = 0
    listed_names_resolved: int = 0
    kept_manual: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.label,
            "dry_run": self.dry_run,
            "models_listed": self.listed,
            "rows_written": self.rows_written,
            "models_changed": self.models_changed,
            "models_kept_manual": self.kept_manual,
            "models_skipped": self.skipped,
            "match_rules_written": self.rules_written,
            "names_resolved": self.names_resolved,
            "listed_names_resolved": self.listed_names_resolved,
        }

    def lines(self) -> list[str]:
        verb = "would write" if self.dry_run else "wrote"
        said = [
            f"{self.label}: {self.listed} models with token prices; {verb} {self.rows_written} "
            f"price rows for {len(self.models_changed)} models; {len(self.kept_manual)} kept "
            f"as entered by hand; {sum(self.skipped.values())} not priced by tokens"
        ]
        if not self.dry_run:
            said.append(
                f"resolved {self.names_resolved} model names reported on events and "
                f"{self.listed_names_resolved} more that the list names exactly"
            )
        return said


@dataclass
class _Stored:
    manual: bool = False
    history: dict[datetime, Price] = field(default_factory=dict)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _stored(connection: psycopg.Connection[Any]) -> dict[tuple[str, str], _Stored]:
    stored: dict[tuple[str, str], _Stored] = {}
    for provider, model, source, effective, inp, out, read, write, tiers in connection.execute(
        STORED
    ):
        entry = stored.setdefault((provider, model), _Stored())
        entry.manual = entry.manual or source != SOURCE
        tier_rows = tuple(
            Tier(minimum, Rates(Decimal(t_in), Decimal(t_out), _decimal(t_rd), _decimal(t_wr)))
            for minimum, t_in, t_out, t_rd, t_wr in tiers
        )
        entry.history[effective] = Price(effective, Rates(inp, out, read, write), tier_rows)
    return stored


def _same(a: Price, b: Price) -> bool:
    return (a.rates, a.tiers) == (b.rates, b.tiers)


def rows_to_write(listed: ListedModel, stored: _Stored, now: datetime) -> list[Price]:
    """The rows a sync inserts for one model (none when its history is already there)."""
    new = [price for price in listed.history if price.effective_date not in stored.history]
    known = [*stored.history.values(), *new]
    listed_now = price_in_effect(listed.history, now)
    stored_now = price_in_effect(known, now)
    if listed_now is not None and (stored_now is None or not _same(listed_now, stored_now)):
        new.append(Price(now, listed_now.rates, listed_now.tiers))
    return new


def _rate_values(rates: Rates) -> tuple[Decimal | None, ...]:
    return (rates.input, rates.output, rates.cache_read, rates.cache_write)


def _insert(connection: psycopg.Connection[Any], model: ListedModel, rows: Iterable[Price]) -> int:
    written = 0
    with connection.cursor() as cursor:
        for price in rows:
            row_id = uuid.uuid4()
            cursor.execute(
                INSERT_PRICE,
                (
                    row_id,
                    model.provider,
                    model.model,
                    price.effective_date,
                    *_rate_values(price.rates),
                    SOURCE,
                ),
            )
            cursor.executemany(
                INSERT_TIER,
                [
                    (row_id, tier.min_input_tokens, *_rate_values(tier.rates))
                    for tier in price.tiers
                ],
            )
            written += 1
    return written


def sync_prices(
    connection: psycopg.Connection[Any],
    models: list[ListedModel],
    rules: Sequence[RuleRow],
    report: SyncReport,
) -> SyncReport:
    """Write what ``models`` add to the stored history and the list's match ``rules``, in one
    transaction (rolled back with ``report.dry_run``). ``connection`` is in autocommit mode
    outside this call."""
    import psycopg  # noqa: PLC0415  (the command imports this module only when it runs)

    report.listed = len(models)
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s, %s)", SYNC_LOCK)
        now = single_row(connection.execute("SELECT now()"))[0]
        stored = _stored(connection)
        changed: list[tuple[str, str, datetime]] = []
        for model in models:
            entry = stored.get((model.provider, model.model), _Stored())
            if entry.manual:
                report.kept_manual.append(f"{model.provider}/{model.model}")
                continue
            rows = rows_to_write(model, entry, now)
            if rows:
                report.rows_written += _insert(connection, model, rows)
                report.models_changed.append(f"{model.provider}/{model.model}")
                changed.append((model.provider, model.model, min(r.effective_date for r in rows)))
        with connection.cursor() as cursor:
            record_repricing(cursor, changed)
        report.rules_written = store_rules(connection, rules)
        if report.dry_run:
            raise psycopg.Rollback
    return report


def sync_price_list(
    connection: psycopg.Connection[Any], price_list: PriceList, *, dry_run: bool
) -> SyncReport:
    """``costdb prices sync``: the list's prices and rules (``sync_prices``), then the names
    events report, then the names the list gives exactly, resolved (``costdb.prices.names``)."""
    conversion = convert(price_list.providers)
    report = SyncReport(price_list.label, dry_run, skipped=conversion.skipped)
    sync_prices(
        connection, conversion.models, rule_rows(price_list.providers, price_list.label), report
    )
    if not dry_run:
        matcher = NameMatcher(lambda: price_list)
        report.names_resolved = len(resolve_names(connection, matcher, ALWAYS))
        listed = exact_names(price_list.providers)
        report.listed_names_resolved = len(resolve_listed_names(connection, matcher, listed))
    return report
