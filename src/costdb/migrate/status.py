"""``costdb status``: the revision, the head, what is pending, and the history with checksums."""

from __future__ import annotations

import json

import click

from costdb.db.engine import connect
from costdb.migrate.history import read_history, script_checksum
from costdb.migrate.runner import require_known_revision
from costdb.migrate.scripts import script_directory
from costdb.settings import load_settings


def print_status(*, as_json: bool) -> None:
    """Print the state of the database the environment names, for people or as JSON."""
    settings = load_settings()
    scripts = script_directory()
    with connect(settings, "costdb-status") as connection:
        state = require_known_revision(connection, scripts)
        history = read_history(connection)
    entries: list[dict[str, object]] = [
        {
            "revision": entry.revision,
            "checksum": entry.checksum,
            "script_unchanged": entry.checksum == script_checksum(scripts, entry.revision),
            "applied_at": entry.applied_at.isoformat(),
            "applied_by": entry.applied_by,
            "duration_ms": entry.duration_ms,
            "how": entry.how,
        }
        for entry in history
    ]
    if as_json:
        report = {
            "database": settings.safe_url,
            "current": state.current,
            "head": state.head,
            "pending": list(state.pending),
            "history": entries,
        }
        click.echo(json.dumps(report))
        return
    click.echo(f"database: {settings.safe_url}")
    click.echo(f"current:  {state.current or '(empty: no migration applied)'}")
    click.echo(f"head:     {state.head}")
    click.echo(f"pending:  {', '.join(state.pending) or '(none)'}")
    click.echo("history:" + ("" if history else "  (none)"))
    for entry, item in zip(history, entries, strict=True):
        verdict = "script unchanged" if item["script_unchanged"] else "SCRIPT CHANGED"
        click.echo(
            f"  {entry.revision}  {entry.how} {item['applied_at']} by {entry.applied_by}"
            f" in {entry.duration_ms} ms  sha256:{entry.checksum[:12]}  {verdict}"
        )
