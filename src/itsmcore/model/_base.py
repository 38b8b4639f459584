"""The base of every error itsmcore raises on purpose (here so the model can use it without a cycle)."""

from __future__ import annotations


class ItsmError(Exception):
    """Base of every error itsmcore raises on purpose."""
