"""Webhook targets: http(s) only, and never an address inside our network unless the operator allows it."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

RESOLVE_TIMEOUT_S = 3.0


class TargetRefused(ValueError):
    pass


def _private(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return bool(
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified
    )


async def check_target(url: str, *, allow_private: bool) -> None:
    """Raises TargetRefused naming why. Every address the host resolves to is checked (at creation and again
    before each delivery, so a name later pointed inside is refused then)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("must be an http(s) URL with a host")
    if parts.username or parts.password:
        raise TargetRefused("must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as e:
        raise TargetRefused("has an invalid port") from e
    try:
        infos = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_S
        )
    except (OSError, UnicodeError, ValueError, TimeoutError) as e:
        raise TargetRefused("does not resolve") from e
    if allow_private:
        return
    for info in infos:
        if _private(ipaddress.ip_address(info[4][0])):
            raise TargetRefused("resolves to a private, loopback or link-local address")
