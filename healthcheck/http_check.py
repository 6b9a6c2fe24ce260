"""``python -m healthcheck.http_check URL``: exit 0 if URL answers 200, else 1.

The tools image's HEALTHCHECK: no curl in a slim image, and no database driver to import,
so it starts in a few tens of milliseconds.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 2.0


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0].startswith(("http://", "https://")):
        print("usage: python -m healthcheck.http_check http://host:port/path", file=sys.stderr)
        return 2
    try:
        with urllib.request.urlopen(argv[0], timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            status = int(response.status)
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError as error:
        print(f"unhealthy: {argv[0]}: {error}")
        return 1
    print(f"{'healthy' if status == 200 else 'unhealthy'}: {argv[0]} answered {status}")
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
