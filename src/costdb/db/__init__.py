"""Every connection costdb opens: libpq for the CLI probe, psycopg with classified one-line
failures, retries with jitter while the database is unavailable, the pooled SQLAlchemy engine,
and the maintenance commands' bounded sessions."""
