"""The health probe: is the schema dependents need there, complete and usable? Its CLI, its
one-shot read, its kept connection and the HTTP server (``python -m healthcheck`` runs it)."""
