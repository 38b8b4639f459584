"""Hook implementations of the ``ldap`` directory backend.

Registering the component imports only the settings module (attrs); ldap3 is imported
when a deployment that selects ``use = "ldap"`` builds its directory.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from itsmcore import ComponentContext, DirectoryComponent, hookimpl

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
