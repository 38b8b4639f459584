"""Hook implementations of the ``ldap`` directory backend.

Registering the component imports only the settings module (attrs); ldap3 is imported
when a deployment that selects ``use = "ldap"`` builds its directory.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from itsmcore import ComponentContext, Customer, DirectoryComponent, EligibilityDecision, hookimpl

from .settings import LdapDirectorySettings

if TYPE_CHECKING:
    from .directory import LdapDirectory

ITSM_CONTRACT = "1.0"


def build_directory(settings: LdapDirectorySettings, context: ComponentContext) -> LdapDirectory:
    """The component factory: an :class:`~itsm_ldap.directory.LdapDirectory` (connects on first use)."""
    from .directory import LdapDirectory

    return LdapDirectory(settings, context)


def ldap_directory_component() -> DirectoryComponent:
    return DirectoryComponent(
        name="ldap",
        factory=build_directory,
        settings=LdapDirectorySettings,
        description="Customers, sign-in, nested groups and devices from LDAP or Active Directory (ldap3).",
    )


@hookimpl
def itsm_directories() -> Iterable[DirectoryComponent]:
    return [ldap_directory_component()]


@hookimpl
def itsm_check_eligibility(desk: Any, customer: Customer, service: Any) -> EligibilityDecision | None:
    """A disabled directory account is eligible for nothing: whoever asks for it, nobody should be given access.

    Only customers this backend built are judged (they carry ``attributes.dn``); the
    account is listed at all only with ``include_disabled``, so the desk can still see it.
    """
    if customer.attributes.get("disabled") == "true" and "dn" in customer.attributes:
        return EligibilityDecision(
            eligible=False,
            reason="This account is disabled in the directory, so no service can be given to it.",
            next_step="If the account should be active, ask the service desk to have it enabled.",
        )
    return None
