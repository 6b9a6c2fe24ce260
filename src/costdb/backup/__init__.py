"""Backups with pgBackRest: take them on a schedule, record them in the database, restore."""
