"""The signed-in agent named on what they do: a desk whose calls record them (``Desk.acting_as``)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from itsmcore import Customer, Identity

if TYPE_CHECKING:
    from itsmcore import Desk


class AgentDesk:
    """The desk as one agent uses it: each method runs with the agent named on the events it records.

    Methods are wrapped (a blocking call stays blocking, for ``call``); other attributes
    are the desk's own.
    """

    def __init__(self, desk: Desk, agent: Customer | Identity):
        self.desk = desk
        self.who = agent if isinstance(agent, Identity) else Identity(agent.id, agent.name)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.desk, name)
        if not callable(value):
            return value
        return self.wrap(value)

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        desk, who = self.desk, self.who

        @wraps(fn)
        def acting(*args: Any, **kwargs: Any) -> Any:
            with desk.acting_as(who):
                return fn(*args, **kwargs)

        return acting


def acting(desk: Desk, agent: Customer | Identity) -> Desk:
    """``desk`` as ``agent`` uses it (typed as a desk: every call is the desk's, with the agent recorded)."""
    return AgentDesk(desk, agent)  # type: ignore[return-value]
