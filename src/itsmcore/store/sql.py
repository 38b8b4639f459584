"""Statements whose SQL differs between the dialects we support (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.dialects import postgresql, sqlite


def insert_ignore(conn: Connection, table: Table, index_elements: Sequence[str] | None = None) -> Any:
    """``INSERT`` that does nothing when a unique key is taken: what runs twice writes once.

    With ``index_elements`` the conflict is on that unique index only (and ``RETURNING``
    can follow); without, on any, which is also the form ``INSERT ... SELECT`` accepts on
    SQLite (it cannot parse ``ON CONFLICT`` after a ``SELECT`` without ``WHERE``).
    """
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=index_elements)
    if index_elements is not None:
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=index_elements)
    return insert(table).prefix_with("OR IGNORE")
