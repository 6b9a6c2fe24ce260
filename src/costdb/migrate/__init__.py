"""The migration runner behind ``costdb migrate``: wait, lock, upgrade, record, verify."""
