"""The alert webhook: where it is (``COSTDB_BUDGET_WEBHOOK_URL`` or its ``_FILE`` secret) and
one POST to it, bounded by a timeout.

A webhook URL is a credential (Slack's and most chat tools' carry their token in the path):
it is never written to a log line, an error or a ``repr``; a failure names only what happened
(an HTTP status, a refused connection, a timeout).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from costdb import defaults
from costdb.errors import ConfigError, CostdbError
from costdb.settings import read_variable

VARIABLE = "COSTDB_BUDGET_WEBHOOK_URL"


class DeliveryFailed(CostdbError):
    """One POST did not get a 2xx answer; the message holds no part of the URL."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a delivery: urllib would repeat a POST as a bodiless GET."""

    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


@dataclass(frozen=True)
class Webhook:
    """An http(s) endpoint that takes the alert's JSON."""

    url: str = field(repr=False)
    timeout_seconds: float = defaults.BUDGET_WEBHOOK_TIMEOUT_SECONDS

    def post(self, payload: dict[str, object], idempotency_key: str) -> int:
        """POST ``payload``; the 2xx status, or :class:`DeliveryFailed`."""
        request = urllib.request.Request(  # noqa: S310  (the scheme is checked: http or https)
            self.url,
            data=json.dumps(payload).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": idempotency_key,
                "User-Agent": "costdb-budgets",
            },
        )
        try:
            with _OPENER.open(request, timeout=self.timeout_seconds) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            raise DeliveryFailed(f"the webhook answered HTTP {exc.code}") from None
        except urllib.error.URLError as exc:
            raise DeliveryFailed(f"cannot reach the webhook: {_reason(exc.reason)}") from None
        except TimeoutError:
            raise DeliveryFailed(
                f"the webhook did not answer within {self.timeout_seconds:g} s"
            ) from None
        except OSError as exc:
            raise DeliveryFailed(f"cannot reach the webhook: {_reason(exc)}") from None


def _reason(reason: object) -> str:
    """What went wrong, without the URL: an OS error's text, a timeout, or the error's kind."""
    if isinstance(reason, TimeoutError):
        return "timed out"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return type(reason).__name__


def webhook_from_environment(environ: Mapping[str, str]) -> Webhook | None:
    """The configured webhook, None when there is none (alerts then go by NOTIFY only), or a
    :class:`ConfigError` naming the variable (never its value) when it is not an http(s) URL."""
    url = read_variable(VARIABLE, environ)
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{VARIABLE} is not an http(s) URL with a host")
    return Webhook(url)
