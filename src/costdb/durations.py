"""Durations and instants as people type them: ``400d``, ``90m``, ``60s``, or an ISO time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from costdb.errors import ConfigError

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DURATION = re.compile(r"(\d+)\s*([smhdw])")


def parse_duration(text: str, what: str) -> timedelta:
    """``400d`` -> 400 days; a clear error naming ``what`` otherwise."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise ConfigError(
            f"{what}: {text!r} is not a positive duration like 90s, 30m, 48h, 400d or 2w"
        )
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def parse_instant(text: str, what: str, now: datetime) -> datetime:
    """An ISO time (UTC when it names no zone) or a duration before ``now`` (``48h``)."""
    if _DURATION.fullmatch(text.strip()):
        return now - parse_duration(text, what)
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(
            f"{what}: {text!r} is neither an ISO time (2026-11-01T00:00Z) nor a duration ago (48h)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_range(since: str, until: str | None, now: datetime) -> tuple[datetime, datetime]:
    """``--since`` and ``--until`` (default ``now``) as instants; an empty or inverted range is
    an error, not a run that silently does nothing."""
    start = parse_instant(since, "--since", now)
    end = parse_instant(until, "--until", now) if until else now
    if start >= end:
        raise ConfigError(
            f"--since {start.isoformat()} is not before --until {end.isoformat()}: "
            "the range is empty or inverted"
        )
    return start, end
