"""Alembic migrations for the hotline database, shipped as package data and run by
``Store.migrate()`` / ``ivr db upgrade`` (no alembic.ini needed)."""
