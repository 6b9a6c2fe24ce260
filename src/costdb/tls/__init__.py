"""The server's TLS: certificates checked and issued, and the db image's files made ready."""
