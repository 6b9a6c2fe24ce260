"""``costdb local``: the stack natively, on the machine's own PostgreSQL binaries."""
