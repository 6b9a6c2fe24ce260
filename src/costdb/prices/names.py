"""Names as providers report them, resolved once to the price rows of the model they are.

The OpenAI API reports ``gpt-4o-2024-08-06``, Bedrock ``anthropic.claude-3-5-sonnet-...-v1:0``:
a price row for ``gpt-4o`` prices neither. Each distinct (provider, model) on ``events`` that
``costdb_model_names`` does not know yet is resolved once, and the row says why:

1. the name has price rows of its own (typed by hand, say): it is priced by them;
2. else the price list's own match rules (genai-prices' equals / starts-with / regex clauses,
   provider aliases such as azure, bedrock or vertex, and fallbacks from one provider to the
   model's maker) find the model: it is priced by that model's rows;
3. else it stays unresolved and unpriced, and ``costdb prices missing`` lists it.

A row with ``source = 'manual'`` is never replaced (insert it to resolve a name by hand). The
cost view reads the table directly, so a resolution prices every call of that name, past ones
included, at once.

When: ``costdb prices sync`` resolves every name on events, then every name the list gives
exactly (``costdb.prices.match_rules.exact_names``: dated ids, aliases), before any call of it
is seen. A name only a pattern matches is resolved by the database itself when its first call
is inserted (revision 0014's trigger applies the rules the sync stored; not on Citus), and
``costdb_event_cost`` prices it by those rules even before; ``costdb rollup`` resolves what is
left (on Citus: every new name) with this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import astuple, dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from costdb.prices.conversion import ALWAYS
from costdb.prices.repricing import record_repricing

if TYPE_CHECKING:
    import psycopg
    from genai_prices.data_snapshot import DataSnapshot
    from genai_prices.types import ModelInfo, Provider

    from costdb.prices.price_list import PriceList


UNRESOLVED = """
SELECT DISTINCT e.provider, e.model, EXISTS (
         SELECT FROM model_pricing p WHERE p.provider = e.provider AND p.model = e.model)
FROM events e
WHERE e.created_at >= %s
  AND NOT EXISTS (SELECT FROM costdb_model_names n
                  WHERE n.provider = e.provider AND n.model = e.model)
"""
KNOWN_NAMES = """
SELECT provider, model FROM costdb_model_names UNION SELECT provider, model FROM model_pricing
"""
# One statement for all of them: on Citus each statement into a reference table is a round trip
# to every node.
INSERT_NAMES = """
INSERT INTO costdb_model_names (provider, model, priced_provider, priced_model, rule, source)
SELECT *, 'genai-prices' FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[])
ON CONFLICT (provider, model) DO NOTHING
"""


@dataclass(frozen=True)
class Resolution:
    provider: str
    model: str
    priced_provider: str
    priced_model: str
    rule: str


class NameMatcher:
    """The price list's own match rules over one list (its look-up caches kept). The list is
    loaded when the first name needs it: a roll-up whose window holds no new name never pays
    for parsing it."""

    def __init__(self, load: Callable[[], PriceList]) -> None:
        self._load = load

    @cached_property
    def _list(self) -> PriceList:
        return self._load()

    @cached_property
    def _snapshot(self) -> DataSnapshot:
        from genai_prices.data_snapshot import DataSnapshot  # noqa: PLC0415

        return DataSnapshot(providers=self._list.providers, from_auto_update=False)

    def _owner(self, model: ModelInfo) -> Provider:
        """The provider whose list holds ``model`` (a fallback finds another provider's)."""
        return next(p for p in self._list.providers if any(m is model for m in p.models))

    def match(self, provider: str, model: str) -> Resolution | None:
        """What the list's rules make of a reported name, or None."""
        try:
            found_provider, found = self._snapshot.find_provider_model(model, None, provider, None)
        except LookupError:
            try:  # a provider name the list does not know: the model's name may say whose
                found_provider, found = self._snapshot.find_provider_model(model, None, None, None)
            except LookupError:
                return None
        owner = self._owner(found)
        via = "" if owner is found_provider else f" (via {found_provider.id})"
        rule = f"{self._list.label}: {model!r} matches {owner.id} model {found.id!r}{via}"
        return Resolution(provider, model, owner.id, found.id, rule)


def resolve_listed_names(
    connection: psycopg.Connection[Any], matcher: NameMatcher, names: Iterable[tuple[str, str]]
) -> list[Resolution]:
    """Resolve each listed (provider, model) that has no row, no price rows of its own and is
    not a model's own id; return them. No repricing is recorded: a name with calls was
    resolved from its calls first (``resolve_names``), so these have none."""
    known = {tuple(row) for row in connection.execute(KNOWN_NAMES).fetchall()}
    resolved = []
    for provider, model in dict.fromkeys(names):
        if (provider, model) in known:
            continue
        found = matcher.match(provider, model)
        if found is not None and (found.priced_provider, found.priced_model) != (provider, model):
            resolved.append(found)
    _record(connection, resolved)
    return resolved


def _record(connection: psycopg.Connection[Any], resolved: list[Resolution]) -> None:
    columns = [list(column) for column in zip(*(astuple(r) for r in resolved), strict=True)]
    if columns:
        connection.execute(INSERT_NAMES, columns)


def resolve_names(
    connection: psycopg.Connection[Any], matcher: NameMatcher, since: datetime
) -> list[Resolution]:
    """Resolve every name on events since ``since`` that has no row yet; return them."""
    resolved = []
    names = connection.execute(UNRESOLVED, (since,)).fetchall()
    for provider, model, has_own_rows in names:
        if has_own_rows:
            found: Resolution | None = Resolution(
                provider, model, provider, model, "priced by its own model_pricing rows"
            )
        else:
            found = matcher.match(provider, model)
        if found is not None:
            resolved.append(found)
    with connection.transaction(), connection.cursor() as cursor:
        _record(connection, resolved)
        # A name now priced by another name's rows: its calls' cost may change from the first
        # (a name priced by its own rows already was, and costs nothing to record).
        moved = [
            r for r in resolved if (r.priced_provider, r.priced_model) != (r.provider, r.model)
        ]
        record_repricing(cursor, [(r.provider, r.model, ALWAYS) for r in moved])
    return resolved
