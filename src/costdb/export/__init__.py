"""The schema for other languages' clients (a Drizzle module today)."""
