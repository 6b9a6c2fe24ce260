"""``python -m healthcheck``: see ``healthcheck.cli``."""

from healthcheck.cli import main

main()
