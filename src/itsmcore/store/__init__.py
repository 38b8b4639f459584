"""Persistence: tables, engine and migrations. Internal: plugins use the desk instead."""
