"""``python -m healthcheck.http_check URL``: the health server's container check (the same as
``python -m costdb.health.http_check``), kept under the name images and manifests call."""

import sys

from costdb.health.http_check import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
