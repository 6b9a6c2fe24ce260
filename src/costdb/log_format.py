"""Log lines for people (``costdb: ...``) or for log pipelines (one JSON object a line)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

# Fields a costdb log call may attach with ``extra=``; they become JSON keys.
_FIELDS = ("event", "revision", "duration_ms", "attempt")


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry |= {name: getattr(record, name) for name in _FIELDS if hasattr(record, name)}
        return json.dumps(entry)


def configure_logging(fmt: str = "text") -> None:
    """Log INFO and above to stderr, as ``text`` or ``json``; Alembic's own chatter is muted."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if fmt == "json" else logging.Formatter("costdb: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # costdb logs what it applies
