"""``python -m costdb.health.http_check [--timeout S] URL``: exit 0 if URL answers 200, else 1.

The tools image's HEALTHCHECK: no curl in a slim image, and no database driver to import,
so it starts in a few tens of milliseconds. ``--timeout`` should exceed the server's own
probe timeout, so that a slow database is reported as a 503 rather than as no answer.
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request

from costdb import defaults


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m costdb.health.http_check")
    parser.add_argument("--timeout", type=float, default=defaults.HTTP_CHECK_TIMEOUT_SECONDS)
    parser.add_argument("url")
    arguments = parser.parse_args(argv)
    url: str = arguments.url
    if not url.startswith(("http://", "https://")) or not arguments.timeout > 0:
        parser.error("expected --timeout > 0 and an http:// or https:// URL")
    try:
        with urllib.request.urlopen(url, timeout=arguments.timeout) as response:  # noqa: S310
            status = int(response.status)
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError as error:
        print(f"unhealthy: {url}: {error}")
        return 1
    print(f"{'healthy' if status == 200 else 'unhealthy'}: {url} answered {status}")
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
