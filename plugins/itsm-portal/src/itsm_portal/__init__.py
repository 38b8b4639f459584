"""itsm-portal: the self-service portal, the service desk pages and a JSON API over an itsmcore desk."""

from __future__ import annotations

__version__ = "0.1.0"
