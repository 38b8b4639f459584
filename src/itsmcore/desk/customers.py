"""Customers as the deployment's directories know them: identity, manager, configuration items."""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import UnknownCustomer
from ..model import ConfigurationItem, Customer
from .context import Context


class Customers:
    """Looks customers up in the directories (plugins' backends, in the config's order)."""

    def __init__(self, ctx: Context):
        self.directory = ctx.directory

    def get(self, customer_id: str) -> Customer:
        c = self.directory.get_customer(customer_id)
        if c is None:
            raise UnknownCustomer(customer_id, "see 'itsm customer list'")
        return c

    def resolve(self, customer: str | Customer) -> Customer:
        """A customer given as an id or already looked up."""
        return customer if isinstance(customer, Customer) else self.get(customer)

    def find(self, customer_id: str) -> Customer | None:
        return self.directory.get_customer(customer_id)

    def by_email(self, email: str) -> Customer | None:
        """The customer with this email address, for channels that only know an address."""
        return self.directory.customer_by_email(email)

    def names(self, ids: Iterable[str]) -> dict[str, str]:
        """Each of ``ids`` by the name to show (their id if the directory has no name or no such person)."""
        out: dict[str, str] = {}
        for cid in ids:
            if cid and cid not in out:
                out[cid] = self.display(cid) or cid
        return out

    def all(self) -> list[Customer]:
        return sorted(self.directory.list_customers(), key=lambda c: c.id)

    def configuration_items(self, customer_id: str) -> list[ConfigurationItem]:
        return self.directory.configuration_items(customer_id)

    def display(self, customer_id: str) -> str:
        """The name to show customers for someone (an approver), else their id."""
        c = self.directory.get_customer(customer_id)
        return c.name if c else customer_id

    def first_name(self, customer_id: str) -> str | None:
        """A manager's first name, for eligibility wording ("ask Scott")."""
        m = self.directory.get_customer(customer_id)
        return m.name.split()[0] if m else None
