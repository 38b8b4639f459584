"""Errors the public API raises. Each message is written for the person who must act.

Each error is one of four kinds: :class:`InvalidInput`
(422), :class:`Conflict` (409), :class:`NotFound` (404) and :class:`Forbidden` (403); the
rest are about the deployment (config, plugins, store) or a component's outcome.
Map an error to an answer by its ``http_status`` or ``exit_code``, never by its name.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs

from .model._base import Conflict, Forbidden, InvalidInput, ItsmError, NotFound
from .model.demand import IllegalTransition

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "Conflict",
    "Deferred",
    "Forbidden",
    "IllegalTransition",
    "IneligibleCustomer",
    "InvalidAnswers",
    "InvalidInput",
    "ItsmError",
    "NotFound",
    "NotInTeam",
    "PermanentFailure",
    "PluginError",
    "StoreUnavailable",
    "TemporaryFailure",
    "TooManyAttempts",
    "UnknownCustomer",
    "UnknownService",
    "UnknownTeam",
]


@attrs.frozen
class ConfigProblem:
    """One thing wrong in a config file: where, what, and a hint."""

    file: str
    path: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        text = f"{where}: {self.message}"
        return f"{text}; {self.hint}" if self.hint else text


class ConfigError(ItsmError):
    """The deployment config cannot be used. Holds every problem found, not just the first."""

    exit_code = 2

    def __init__(self, problems: Sequence[ConfigProblem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class PluginError(ItsmError):
    """A plugin could not be loaded or broke the contract; names the plugin and its distribution."""

    exit_code = 2

    def __init__(self, plugin: str, problem: str, distribution: str | None = None):
        self.plugin = plugin
        self.distribution = distribution
        self.problem = problem
        origin = f"plugin {plugin!r}" + (f" (distribution {distribution})" if distribution else "")
        super().__init__(f"{origin}: {problem}")


class StoreUnavailable(ItsmError):
    """The database cannot be reached or opened. Nothing was written."""

    exit_code = 1
    http_status = 503


class UnknownCustomer(NotFound):
    def __init__(self, customer_id: str, hint: str = ""):
        self.customer_id = customer_id
        super().__init__(f"unknown customer {customer_id!r}" + (f"; {hint}" if hint else ""))


class UnknownService(NotFound):
    def __init__(self, service_key: str, hint: str = ""):
        self.service_key = service_key
        super().__init__(f"unknown service {service_key!r}" + (f"; {hint}" if hint else ""))


class UnknownTeam(NotFound):
    """No ``[teams.KEY]`` team of that name; the message lists the known ones with a close match (exit 2)."""

    exit_code = 2


class NotInTeam(Conflict):
    """An agent who is not a member of the team was named; the message names the team's members (409, exit 2)."""

    exit_code = 2


class IneligibleCustomer(Forbidden):
    """The customer may not have this service. ``reason`` and ``next_step`` are plain language."""

    def __init__(self, customer_id: str, service_key: str, reason: str, next_step: str = ""):
        self.customer_id = customer_id
        self.service_key = service_key
        self.reason = reason
        self.next_step = next_step
        super().__init__(f"{reason} {next_step}".strip())


class InvalidAnswers(InvalidInput):
    """Answers to a service's asks (or any form's fields) are missing or invalid; ``errors`` maps field to message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


class TemporaryFailure(ItsmError):
    """Raised by an action or channel when trying again later may succeed (timeouts, 5xx)."""

    def __init__(self, message: str, retry_after: float | None = None):
        self.retry_after = retry_after
        super().__init__(message)


class PermanentFailure(ItsmError):
    """Raised by an action or channel when trying again cannot help (4xx, bad data)."""


class Deferred(ItsmError):
    """Raised by a job's handler when the job should wait, not fail: it runs again at ``until``
    (aware) and the wait counts no attempt (a message held for the customer's quiet hours)."""

    def __init__(self, until: datetime, reason: str):
        self.until = until
        super().__init__(reason)


class TooManyAttempts(ItsmError):
    """Sign-in refused, without checking the password: too many recent failures for this login or address.

    ``retry_after`` is how many seconds until one more attempt is allowed. The message
    does not say whether the login exists.
    """

    exit_code = 1
    http_status = 429

    def __init__(self, retry_after: float):
        self.retry_after = max(0.0, float(retry_after))
        minutes = max(1, round(self.retry_after / 60))
        super().__init__(
            f"too many failed sign-ins; try again in {minutes} minute{'s' if minutes > 1 else ''}, "
            "or ask the service desk to help you"
        )
