"""costdb: the database service of an LLM cost-tracking platform.

The version has one source, ``pyproject.toml``: ``importlib.metadata.version("costdb")``.
"""
