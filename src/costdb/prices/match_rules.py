"""The price list's match rules as rows of ``costdb_model_match_rules``, and the names it gives
exactly: so that the database prices a name from its first call, before any roll-up saw it.

genai-prices finds a reported (provider, model) in three steps (``NameMatcher`` calls it): the
provider by its id, else by its ``provider_match``; the model by the first of that provider's
models whose ``match`` holds, then its fallback providers' models; failing that, the provider
whose ``model_match`` holds for the model's name alone, and a model of its. Each step is a
``lookup`` here (``provider``, ``model`` within a ``scope``, ``maker``); each clause tree
becomes an OR of ANDs of terms, the lower-cased patterns genai-prices compares (a regex is
kept as written: it is applied to the lower-cased name). Revision 0014's
``costdb_match_model_name`` applies them in the same order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import astuple, dataclass
from itertools import product
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg
    from genai_prices.types import MatchLogic, Provider

Term = tuple[str, str]
"""A clause's kind and pattern: ``("starts_with", "claude-sonnet-4-5")``."""

_KINDS = ("equals", "starts_with", "ends_with", "contains", "regex")


@dataclass(frozen=True, order=True)
class RuleRow:
    """One term of one alternative of one rule: a row of ``costdb_model_match_rules``."""

    lookup: str
    scope: str
    position: int
    alternative: int
    term: int
    kind: str
    pattern: str
    priced_provider: str
    priced_model: str
    list_label: str


def alternatives(logic: MatchLogic) -> list[list[Term]]:
    """The clause tree as an OR of ANDs of terms (its disjunctive normal form)."""
    from genai_prices.types import ClauseAnd, ClauseOr  # noqa: PLC0415

    if isinstance(logic, ClauseOr):
        return [conjunction for clause in logic.or_ for conjunction in alternatives(clause)]
    if isinstance(logic, ClauseAnd):
        parts = [alternatives(clause) for clause in logic.and_]
        return [
            [term for conjunction in chosen for term in conjunction] for chosen in product(*parts)
        ]
    kind = next(kind for kind in _KINDS if hasattr(logic, kind))
    pattern = str(getattr(logic, kind))
    return [[(kind, pattern if kind == "regex" else pattern.lower())]]


def _rows(
    lookup: str, scope: str, position: int, logic: MatchLogic, result: tuple[str, str], label: str
) -> Iterator[RuleRow]:
    for alternative, conjunction in enumerate(alternatives(logic)):
        for term, (kind, pattern) in enumerate(conjunction):
            yield RuleRow(lookup, scope, position, alternative, term, kind, pattern, *result, label)


def _model_rows(provider: Provider, providers: Sequence[Provider], label: str) -> Iterator[RuleRow]:
    """``provider``'s scope: its own models, then each fallback provider's own models."""
    by_id = {listed.id: listed for listed in providers}
    fallbacks = [by_id[name] for name in provider.fallback_model_providers or () if name in by_id]
    owners_models = [(owner, model) for owner in (provider, *fallbacks) for model in owner.models]
    for position, (owner, model) in enumerate(owners_models):
        yield from _rows("model", provider.id, position, model.match, (owner.id, model.id), label)


def rule_rows(providers: Sequence[Provider], label: str) -> list[RuleRow]:
    """Every row the list's rules make, in the order genai-prices tries them."""
    from genai_prices.types import ClauseEquals  # noqa: PLC0415

    rows: list[RuleRow] = []
    count = len(providers)
    for position, provider in enumerate(providers):
        result = (provider.id, "")  # its own id first, before any provider's provider_match
        rows += _rows("provider", "", position, ClauseEquals(provider.id), result, label)
        if provider.provider_match is not None:
            matched = provider.provider_match
            rows += _rows("provider", "", count + position, matched, result, label)
        if provider.model_match is not None:
            rows += _rows("maker", "", position, provider.model_match, result, label)
        rows += _model_rows(provider, providers, label)
    return rows


def exact_names(providers: Sequence[Provider]) -> Iterator[tuple[str, str]]:
    """Every (provider name, model name) the list names exactly: each ``equals`` term of a
    model's rule under its provider's id and under each alias its ``provider_match`` equals."""
    for provider in providers:
        names = [provider.id]
        if provider.provider_match is not None:
            names += [
                pattern
                for conjunction in alternatives(provider.provider_match)
                for kind, pattern in conjunction
                if kind == "equals" and len(conjunction) == 1
            ]
        for model in provider.models:
            for conjunction in alternatives(model.match):
                if len(conjunction) == 1 and conjunction[0][0] == "equals":
                    for name in dict.fromkeys(names):
                        yield name, conjunction[0][1]


STORED_RULES = """
SELECT lookup, scope, position, alternative, term, kind, pattern, priced_provider, priced_model,
       list_label
FROM costdb_model_match_rules
"""
COPY_RULES = """
COPY costdb_model_match_rules (lookup, scope, position, alternative, term, kind, pattern,
                               priced_provider, priced_model, list_label) FROM STDIN
"""


def _regex_problems(connection: psycopg.Connection[Any], rows: Sequence[RuleRow]) -> set[str]:
    """The scopes with a regex PostgreSQL's engine refuses (their names stay to the roll-up's
    Python resolution, where a wrong match would be worse than none)."""
    import psycopg  # noqa: PLC0415  (the command imports this module only when it runs)

    refused = set()
    for pattern in sorted({row.pattern for row in rows if row.kind == "regex"}):
        try:
            with connection.transaction():
                connection.execute("SELECT '' ~ %s", (pattern,))
        except psycopg.errors.InvalidRegularExpression:
            refused.add(pattern)
    return {row.scope for row in rows if row.kind == "regex" and row.pattern in refused}


def store_rules(connection: psycopg.Connection[Any], rows: Sequence[RuleRow]) -> int:
    """Replace the stored rules with ``rows`` (in the caller's transaction) unless they are the
    same; return how many were written."""
    stored = sorted(RuleRow(*row) for row in connection.execute(STORED_RULES).fetchall())
    wanted = sorted(rows)
    if stored == wanted:  # a re-sync of the same list: nothing to check or write
        return 0
    refused = _regex_problems(connection, wanted)
    wanted = [row for row in wanted if row.scope not in refused]
    if stored == wanted:
        return 0
    connection.execute("DELETE FROM costdb_model_match_rules")
    with connection.cursor().copy(COPY_RULES) as copy:
        for row in wanted:
            copy.write_row(astuple(row))
    return len(wanted)
