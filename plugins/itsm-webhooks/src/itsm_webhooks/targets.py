"""Where a webhook may be sent: http(s) only, never this deployment, never a loopback or link-local address.

A name is resolved and every address it resolves to is checked, so ``localhost``,
``127.1``, ``0x7f.0.0.1``, ``[::ffff:127.0.0.1]`` or a public name pointing at
169.254.169.254 are refused alike, unless ``[webhooks] allow_addresses`` lists the
network. The check runs when a subscription is added and again before each delivery
(a name may be re-pointed in between).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from .settings import WebhookSettings

IP = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(ValueError):
    """The URL may not be a webhook target; the message says why and what to do."""


class Unresolvable(Refused):
    """The URL's host name does not resolve (now): a delivery tries again later."""


def _why_special(ip: IP) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for what, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("unspecified", ip.is_unspecified),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
    ):
        if flag:
            return what
    return None


def _origin(url: str) -> tuple[str, int] | None:
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return parts.hostname.lower(), port


def check_url(url: str, settings: WebhookSettings, deployment_url: str = "") -> list[str]:
    """The addresses ``url`` resolves to, once it passes every rule; :class:`Refused` otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise Refused(f"{url!r} is not an http(s) URL: webhooks are posted over HTTP or HTTPS")
    if not parts.hostname:
        raise Refused(f"{url!r} has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as e:
        raise Refused(f"{url!r} has a bad port: {e}") from None
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as e:
        raise Unresolvable(f"{parts.hostname!r} does not resolve: {e}") from None
    addresses = sorted({str(info[4][0]).split("%")[0] for info in infos})
    own = _origin(deployment_url) if deployment_url else None
    if own is not None:
        if (parts.hostname.lower(), port) == own:
            raise Refused(
                f"{url!r} points at this deployment itself ({deployment_url}); a webhook may not call back in"
            )
        try:
            own_addresses = {str(i[4][0]).split("%")[0] for i in socket.getaddrinfo(own[0], own[1])}
        except (OSError, UnicodeError):
            own_addresses = set()
        if port == own[1] and own_addresses & set(addresses):
            raise Refused(
                f"{url!r} resolves to this deployment itself ({deployment_url}); a webhook may not call back in"
            )
    allowed = settings.allowed_networks()
    for text in addresses:
        ip = ipaddress.ip_address(text)
        why = _why_special(ip)
        if why is not None and not any(ip in net for net in allowed):
            named = "" if text == parts.hostname.strip("[]") else f"{parts.hostname} resolves to "
            raise Refused(
                f"{url!r}: {named}{text}, a {why} address; webhooks there are refused unless"
                f' [webhooks] allow_addresses lists it (e.g. allow_addresses = ["{text}/{ip.max_prefixlen}"])'
            )
    return addresses
