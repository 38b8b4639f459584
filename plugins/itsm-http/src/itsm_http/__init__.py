"""itsm-http: a fulfilment action that calls an HTTP/JSON API as one step of a plan.

``[actions.expensatron] use = "http"`` configures an instance (URL, JSON body template,
auth, timeouts, output mapping); a plan step ``{ action = "expensatron" }`` runs it.
Templates fill ``{customer.email}``-style placeholders from an allowed context only:
no attribute access, no expressions, no code.
"""

from __future__ import annotations

__version__ = "0.1.0"
