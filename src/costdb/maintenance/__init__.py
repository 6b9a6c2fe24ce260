"""The database's recurring work: roll-ups, retention, duplicate-prompt detection."""
