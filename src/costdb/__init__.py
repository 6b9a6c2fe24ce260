"""costdb: the database service of an LLM cost-tracking platform."""

__version__ = "0.1.0"
