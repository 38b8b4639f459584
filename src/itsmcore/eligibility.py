"""Whether a customer may have a service, and if not, why and what to do next."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from .i18n import N_, Translator, translator
from .model import Customer, Service


@attrs.frozen
class Decision:
    """The outcome of an eligibility check, in words a customer understands."""

    eligible: bool
    reason: str = ""
    next_step: str = ""
    decided_by: str = "rule"

    @property
    def message(self) -> str:
        return f"{self.reason} {self.next_step}".strip()


def _fold(values: tuple[str, ...]) -> set[str]:
    return {v.casefold() for v in values}


def _human_list(words: list[str], tr: Translator) -> str:
    if len(words) <= 1:
        return "".join(words)
    return tr(N_("{items} and {last}"), items=", ".join(words[:-1]), last=words[-1])


def rule_decision(
    service: Service,
    customer: Customer,
    manager_name: Callable[[str], str | None],
    translator_of: Callable[[], Translator] = translator,
) -> Decision:
    """Evaluate the service's own rule of roles, groups and departments (any match).

    A refusal is worded in the language ``translator_of()`` gives (the customer's; English by
    default), asked only for a refusal: the roles, groups and departments, and the rule's
    ``explain``, stay as the config has them.
    """
    rule = service.eligible
    if not (rule.roles or rule.groups or rule.departments):
        return Decision(True)
    if customer.role and customer.role.casefold() in _fold(rule.roles):
        return Decision(True)
    if _fold(customer.groups) & _fold(rule.groups):
        return Decision(True)
    if customer.department and customer.department.casefold() in _fold(rule.departments):
        return Decision(True)
    tr = translator_of()
    who = rule.explain or _human_list(
        [r.replace("_", " ").title() for r in (*rule.roles, *rule.departments)] + list(rule.groups), tr
    )
    reason = tr(N_("{service} is available to {who}."), service=service.name, who=who)
    manager = manager_name(customer.manager) if customer.manager else None
    if manager:
        next_step = tr(N_("Ask your manager, {manager}, to request it for you."), manager=manager)
    else:
        next_step = tr(N_("Ask the service desk if you need it for your work."))
    return Decision(False, reason, next_step)
