"""Alembic migrations, shipped inside the package so every install can run them."""
