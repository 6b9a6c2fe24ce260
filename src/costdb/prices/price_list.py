"""Where prices come from: genai-prices' data (pydantic's public price list, MIT), as bundled
in the installed package or as a newer copy in the same JSON format from a file or a URL.

Nothing is fetched unless a URL is given. Every way a list can be unusable (unreadable,
truncated, not JSON, not the format) ends in one ``ConfigError`` line naming the source;
a URL is named without its query string or credentials.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from costdb.errors import ConfigError, CostdbError

if TYPE_CHECKING:
    from genai_prices.types import Provider

BUNDLED = "bundled"
FETCH_TIMEOUT_SECONDS = 30.0
MAX_LIST_BYTES = 64 * 1024 * 1024  # today's list is ~2 MB: a bound, not a guess at its size


@dataclass(frozen=True)
class PriceList:
    """The providers of one price list, and a label saying which list it was."""

    providers: list[Provider]
    label: str


def _safe_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _fetch(url: str) -> bytes:
    shown = _safe_url(url)
    request = urllib.request.Request(url, headers={"User-Agent": "costdb-prices-sync"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310
            body = bytes(response.read(MAX_LIST_BYTES + 1))
    except urllib.error.HTTPError as exc:
        raise CostdbError(f"price list {shown}: the server answered {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CostdbError(f"price list {shown}: cannot fetch it ({reason})") from None
    if len(body) > MAX_LIST_BYTES:
        raise ConfigError(f"price list {shown}: larger than {MAX_LIST_BYTES} bytes")
    return body


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"price list {path}: cannot read it ({exc.strerror})") from None


def _parse(raw: bytes, shown: str) -> list[Provider]:
    from genai_prices.types import _providers_from_raw  # noqa: PLC0415  (its own updater's parser)
    from pydantic import ValidationError  # noqa: PLC0415

    try:
        document: Any = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"price list {shown}: not valid JSON ({exc})") from None
    if not isinstance(document, list) or not document:
        raise ConfigError(f"price list {shown}: expected a JSON list of providers")
    try:
        return _providers_from_raw(document)
    except (ValidationError, ValueError, TypeError) as exc:
        first = str(exc).strip().splitlines()
        detail = " ".join(line.strip() for line in first[:3])
        raise ConfigError(f"price list {shown}: not in genai-prices' format: {detail}") from None


def load_price_list(source: str) -> PriceList:
    """``bundled`` (the installed genai-prices' snapshot), a file, or an http(s) URL."""
    if source == BUNDLED:
        from genai_prices.data import providers  # noqa: PLC0415

        return PriceList(list(providers), f"genai-prices {version('genai-prices')} (bundled)")
    if source.startswith(("http://", "https://")):
        shown = _safe_url(source)
        return PriceList(_parse(_fetch(source), shown), shown)
    return PriceList(_parse(_read(source), source), source)
