"""LDAP and Active Directory directory backend for itsmcore.

Select it in a deployment with ``[directory.NAME] use = "ldap"``. The ldap3 library is
imported only when such a directory is built, so installing this plugin costs nothing
to deployments that do not use it.
"""

from __future__ import annotations

__version__ = "0.1.0"
