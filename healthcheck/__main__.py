"""``python -m healthcheck``: the same as ``costdb health`` (see ``costdb.health.cli``)."""

from costdb.health.cli import main

main()
