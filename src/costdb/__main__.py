"""``python -m costdb``: the same as the ``costdb`` command."""

from costdb.cli import main

main()
