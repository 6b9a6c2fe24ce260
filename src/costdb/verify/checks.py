"""Judge a catalog snapshot against the manifest: one named check per object.

Pure functions, no I/O: the same evaluation serves the CLI, the HTTP server and the migration
sidecar's final verification.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, Literal

from costdb.verify.catalog import Snapshot
from costdb.verify.manifest import ExpectedColumn, ExpectedIndex, ExpectedPlacement, Manifest

Status = Literal["pass", "warn", "fail", "skip"]
"""``warn`` passes (healthy) but is reported: something to fix that does not stop dependents."""

# Fixes an older pgvector lacks: a warning, not a failure (Debian's own packages are 0.8.0,
# and each fix concerns HNSW builds or vacuum, not whether the schema works).
PGVECTOR_FIXES = (
    ("0.8.2", "a buffer overflow in parallel HNSW index builds"),
    ("0.8.3", "possible HNSW index corruption during vacuum"),
    ("0.8.4", "an HNSW graph not repaired, and inserts lost during HNSW vacuum"),
)


@dataclass(frozen=True)
class Check:
    """One verdict: ``name`` is stable (``index:idx_events_trace``), ``detail`` is for people."""

    name: str
    status: Status
    detail: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def check_server(snapshot: Snapshot, *, allow_replica: bool) -> Check:
    if snapshot.in_recovery:
        if allow_replica:
            return Check("primary", "pass", "hot standby (accepted: --allow-replica)")
        return Check("primary", "fail", "server is a hot standby (read-only); not a primary")
    if snapshot.read_only:
        return Check(
            "primary", "fail", "the database defaults to read-only transactions: writes would fail"
        )
    return Check("primary", "pass", "primary, accepting writes")


def check_extensions(manifest: Manifest, snapshot: Snapshot) -> Iterator[Check]:
    for name, minimum in manifest.extensions.items():
        installed = snapshot.extensions.get(name)
        if installed is None:
            yield Check(f"extension:{name}", "fail", f"extension {name} is not installed")
        elif _version_tuple(installed) < _version_tuple(minimum):
            yield Check(
                f"extension:{name}",
                "fail",
                f"extension {name} {installed} is older than the required {minimum}",
            )
        else:
            yield _extension_advisory(name, installed)


def _extension_advisory(name: str, installed: str) -> Check:
    missing = [
        f"{version} ({fix})"
        for version, fix in PGVECTOR_FIXES
        if name == "vector" and _version_tuple(installed) < _version_tuple(version)
    ]
    if missing:
        return Check(
            f"extension:{name}",
            "warn",
            f"{name} {installed} lacks the fixes of pgvector {'; '.join(missing)}: "
            f"upgrade to {PGVECTOR_FIXES[-1][0]} or newer",
        )
    return Check(f"extension:{name}", "pass", f"{name} {installed}")


def check_revision(manifest: Manifest, snapshot: Snapshot) -> Check:
    applied = snapshot.revisions or []
    if not applied:
        everything = ", ".join(manifest.revisions)
        return Check("revision", "fail", f"no migration applied; pending migrations: {everything}")
    if len(applied) > 1:
        return Check("revision", "fail", f"database has several revisions: {', '.join(applied)}")
    current = applied[0]
    if current not in manifest.revisions:
        return Check(
            "revision",
            "fail",
            f"database revision {current} is newer than this image (head {manifest.head})",
        )
    pending = manifest.revisions[manifest.revisions.index(current) + 1 :]
    if pending:
        return Check(
            "revision", "fail", f"pending migrations: {', '.join(pending)} (database at {current})"
        )
    return Check("revision", "pass", f"at head {current}")


def _column_problems(expected: dict[str, ExpectedColumn], actual: dict[str, Any]) -> list[str]:
    problems = []
    for name, want in expected.items():
        have = actual.get(name)
        if have is None:
            problems.append(f"column {name} is missing")
            continue
        found = ExpectedColumn(have["type"], have["nullable"], have["default"])
        if found != want:
            problems.append(f"column {name} is {found.describe()}, expected {want.describe()}")
    return problems


def _relation_checks(
    kind: str, expected: dict[str, dict[str, ExpectedColumn]], snapshot: Snapshot
) -> Iterator[Check]:
    """Tables and views alike: present, and every expected column as migrated."""
    for relation, columns in expected.items():
        name = f"{kind}:{relation}"
        actual = snapshot.tables.get(relation)
        if actual is None:
            yield Check(name, "fail", f"{kind} {relation} is missing")
            continue
        missing = [column for column in columns if column not in actual]
        problems = _column_problems(columns, actual)
        if missing and len(missing) == len(problems):
            detail = f"{kind} {relation} is missing columns: {', '.join(missing)}"
            yield Check(name, "fail", detail)
        elif problems:
            yield Check(name, "fail", f"{kind} {relation}: {'; '.join(problems)}")
        else:
            yield Check(name, "pass", f"{len(columns)} columns as migrated")


def check_tables(manifest: Manifest, snapshot: Snapshot) -> Iterator[Check]:
    return _relation_checks("table", manifest.tables, snapshot)


def check_views(manifest: Manifest, snapshot: Snapshot) -> Iterator[Check]:
    return _relation_checks("view", manifest.views, snapshot)


def check_functions(manifest: Manifest, snapshot: Snapshot) -> Iterator[Check]:
    """The schema's own functions (a column default and the cost view call them)."""
    for signature, result in manifest.routines.items():
        name = f"function:{signature}"
        actual = snapshot.routines.get(signature)
        if actual is None:
            yield Check(name, "fail", f"function {signature} is missing")
        elif actual != result:
            detail = f"function {signature} returns `{actual}`, expected `{result}`"
            yield Check(name, "fail", detail)
        else:
            yield Check(name, "pass", f"returns {result}")


def _index_verdict(expected: ExpectedIndex, actual: dict[str, Any] | None) -> Check:
    name = f"index:{expected.name}"
    if actual is None:
        return Check(name, "fail", f"index {expected.name} is missing")
    if not actual["valid"] or not actual["ready"]:
        return Check(
            name,
            "fail",
            f"index {expected.name} is invalid (a failed or unfinished CREATE INDEX "
            "CONCURRENTLY leaves it unused): drop it and build it again",
        )
    if actual["definition"] != expected.definition:
        return Check(
            name,
            "fail",
            f"index {expected.name} is `{actual['definition']}`, expected `{expected.definition}`",
        )
    return Check(name, "pass", expected.definition)


def check_indexes(manifest: Manifest, snapshot: Snapshot) -> Iterator[Check]:
    for expected in manifest.indexes:
        yield _index_verdict(expected, snapshot.indexes.get(expected.name))


def check_constraints(manifest: Manifest, snapshot: Snapshot) -> Iterator[Check]:
    """Keyed by table and name: a same-named constraint on another table is not this one."""
    for table, named in manifest.constraints.items():
        present = snapshot.constraints.get(table, {})
        for constraint, definition in named.items():
            check = f"constraint:{table}.{constraint}"
            actual = present.get(constraint)
            if actual is None:
                detail = f"constraint {constraint} on table {table} is missing"
                yield Check(check, "fail", detail)
            elif (found := actual["definition"].removesuffix(" NOT VALID")) != definition:
                detail = (
                    f"constraint {constraint} on table {table} is `{found}`, "
                    f"expected `{definition}`"
                )
                yield Check(check, "fail", detail)
            elif not actual["validated"]:
                detail = (
                    f"constraint {constraint} on table {table} is NOT VALID (existing rows are "
                    f"not checked): ALTER TABLE {table} VALIDATE CONSTRAINT {constraint}"
                )
                yield Check(check, "fail", detail)
            else:
                yield Check(check, "pass", definition)


def misplacement(table: str, want: ExpectedPlacement, have: dict[str, Any]) -> str | None:
    """Why a table Citus has placed is not where costdb needs it, or None (also used by the
    distribution step, which refuses to move such a table)."""
    if have["kind"] != want.kind or have["column"] != want.column:
        where = f"{have['kind']} by {have['column']}" if have["column"] else have["kind"]
        return f"table {table} is {where}; costdb needs it {want.describe()}"
    return None


def colocation_problem(table: str, partner: str, placed: dict[str, Any]) -> str | None:
    """Why ``table``'s rows are not on their ``partner`` row's shard, or None."""
    have, theirs = placed.get(table), placed.get(partner)
    if have is None or theirs is None or have["colocation"] != theirs["colocation"]:
        return (
            f"table {table} is not co-located with {partner}: its rows are not on their "
            f"{partner} row's shard, so foreign keys and cascades between them do not hold"
        )
    return None


def _placement_verdict(table: str, want: ExpectedPlacement, have: dict[str, Any] | None) -> Check:
    name = f"citus:placement:{table}"
    if have is None:
        detail = (
            f"table {table} is a plain table on the coordinator; costdb needs it "
            f"{want.describe()}: run costdb migrate, which distributes it"
        )
        return Check(name, "fail", detail)
    if (problem := misplacement(table, want, have)) is not None:
        return Check(name, "fail", problem)
    shards = f" ({have['shards']} shards)" if want.kind == "distributed" else ""
    return Check(name, "pass", f"{want.describe()}{shards}")


def _colocation_verdict(table: str, partner: str, placed: dict[str, Any]) -> Check:
    name = f"citus:colocation:{table}"
    if (problem := colocation_problem(table, partner, placed)) is not None:
        return Check(name, "fail", problem)
    return Check(name, "pass", f"co-located with {partner} (group {placed[table]['colocation']})")


def check_citus(manifest: Manifest, snapshot: Snapshot) -> Iterator[Check]:
    """On a Citus coordinator: every table placed as intended, co-location, every worker."""
    citus = snapshot.citus or {}
    placed = citus.get("tables", {})
    for table, want in manifest.citus.placements.items():
        yield _placement_verdict(table, want, placed.get(table))
        if want.colocate_with is not None:
            yield _colocation_verdict(table, want.colocate_with, placed)
    workers = citus.get("workers", [])
    if not workers:
        detail = "no active worker is registered on the coordinator (citus_add_node)"
        yield Check("citus:workers", "fail", detail)
    for worker in workers:
        node = worker["node"]
        if worker["reachable"]:
            yield Check(f"citus:worker:{node}", "pass", f"worker {node} accepts connections")
        else:
            detail = f"the coordinator cannot connect to worker {node}"
            yield Check(f"citus:worker:{node}", "fail", detail)


def evaluate_schema(manifest: Manifest, snapshot: Snapshot) -> list[Check]:
    """The objects alone: extensions, tables, indexes, constraints, functions, views (what a
    migration verifies); on a Citus coordinator, with its primary keys, and the placements
    and workers."""
    on_citus = snapshot.citus is not None
    expected = manifest.on_citus() if on_citus else manifest
    return [
        *check_extensions(expected, snapshot),
        *check_tables(expected, snapshot),
        *check_indexes(expected, snapshot),
        *check_constraints(expected, snapshot),
        *check_functions(expected, snapshot),
        *check_views(expected, snapshot),
        *(check_citus(expected, snapshot) if on_citus else ()),
    ]


def evaluate(manifest: Manifest, snapshot: Snapshot, *, allow_replica: bool) -> list[Check]:
    """Every check in a stable order: server, revision, then the schema's objects."""
    return [
        check_server(snapshot, allow_replica=allow_replica),
        check_revision(manifest, snapshot),
        *evaluate_schema(manifest, snapshot),
    ]


_NOTHING = Snapshot(
    in_recovery=False,
    read_only=False,
    extensions={},
    revisions=None,
    tables={},
    indexes={},
    constraints={},
    routines={},
    citus=None,
)


def skipped_checks(manifest: Manifest, reason: str) -> list[Check]:
    """Every check ``evaluate`` would report, marked skipped (the catalog could not be read)."""
    return [
        Check(check.name, "skip", reason)
        for check in evaluate(manifest, _NOTHING, allow_replica=False)
    ]
