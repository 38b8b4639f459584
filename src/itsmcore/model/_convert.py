"""Converters shared by the model's attrs classes."""

from collections.abc import Iterable
from typing import Any


def to_tuple(value: Iterable[Any]) -> tuple[Any, ...]:
    """Accept any iterable (TOML gives lists) and keep an immutable tuple."""
    return tuple(value)
