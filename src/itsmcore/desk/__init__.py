"""The desk: the one Python API that the CLI, channels and the portal call.

:class:`Desk` (in :mod:`itsmcore.desk.facade`) is a facade over one module per concern,
layered bottom to top; each imports only from the layers below it:

1. ``context`` (deployment, store, clock, hooks), ``journey`` (the only writer of
   journey events and of a demand's state and stage) and ``outbox`` (the only writer
   of job rows);
2. the read side and lookups: ``demands``, ``customers``, ``services`` (the catalog),
   ``announcements`` (the records), ``signin``;
3. features: ``subscriptions``, ``delivery``, ``surveys``, ``handling``, ``intake``,
   ``fulfilment``, ``approvals``, ``reviews``;
4. flows across features: ``outages`` (announcements, "this affects me",
   confirmations), ``corrections`` (a customer's corrected answer resumes the plan),
   ``queue`` and ``execution`` (jobs);
5. ``facade``: builds the parts and delegates.
"""

from ..text import render
from .context import Clock, utcnow
from .demands import DemandView, PluginFailure
from .facade import Desk
from .intake import Receipt
from .services import CatalogEntry
from .teams import AgentLoad, QueueItem, Recount, TeamOverview, TeamView

__all__ = [
    "AgentLoad",
    "CatalogEntry",
    "Clock",
    "DemandView",
    "Desk",
    "PluginFailure",
    "QueueItem",
    "Receipt",
    "Recount",
    "TeamOverview",
    "TeamView",
    "render",
    "utcnow",
]
