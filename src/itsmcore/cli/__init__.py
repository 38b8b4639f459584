"""The ``itsm`` command line, one module per command group (``demand``, ``jobs``, ``report``, ...).

This package only re-exports what the rest of itsmcore, the plugins' tests and the
console script (``itsm = "itsmcore.cli:main"``) use. What the groups share lives in
:mod:`itsmcore.cli.base`; :mod:`itsmcore.cli.app` attaches the groups to the root group.
"""

from __future__ import annotations

from .app import cli, main
from .base import open_desk

__all__ = ["cli", "main", "open_desk"]
