"""Webhook targets: http(s) only, and never an address inside our network unless the operator allows it.

The name is resolved once per check and the request then goes to that very address (the name kept in the Host
header and the TLS SNI / certificate check): a DNS answer that changes between the check and the connection
(rebinding) cannot point the request inside. The resolver is a parameter, so tests (and operators with their
own resolution) control what a name resolves to."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

RESOLVE_TIMEOUT_S = 3.0

Resolver = Callable[[str, int], Awaitable[list[str]]]
IP = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(ValueError):
    pass


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.wait_for(
        asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_S
    )
    return [str(i[4][0]) for i in infos]


def _private(ip: IP) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return bool(
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified
    )


@dataclass(frozen=True)
class Target:
    """A checked target: where to connect (`address`) and the name the server expects (`host`)."""

    scheme: str
    host: str
    port: int
    address: str
    path: str

    @property
    def pinned_url(self) -> str:
        literal = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{literal}:{self.port}{self.path}"

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


async def check_target(
    url: str,
    *,
    allow_private: bool,
    allowed_networks: Sequence[str] = (),
    resolve: Resolver | None = None,
) -> Target:
    """Raises TargetRefused naming why. Every address the host resolves to is checked (at creation and again
    before each delivery, so a name later pointed inside is refused then); the first is the one to connect to.
    `allowed_networks` are CIDRs the operator opens although they are private (an internal receiver)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("must be an http(s) URL with a host")
    if parts.username or parts.password:
        raise TargetRefused("must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as e:
        raise TargetRefused("has an invalid port") from e
    host = parts.hostname
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = await (resolve or system_resolver)(host, port)
        except (OSError, UnicodeError, ValueError, TimeoutError) as e:
            raise TargetRefused("does not resolve") from e
    try:
        ips = [ipaddress.ip_address(a.split("%", 1)[0]) for a in addresses]
    except ValueError as e:
        raise TargetRefused("does not resolve") from e
    if not ips:
        raise TargetRefused("does not resolve")
    if not allow_private:
        nets = [ipaddress.ip_network(n, strict=False) for n in allowed_networks]
        for ip in ips:
            if _private(ip) and not any(ip in n for n in nets):
                raise TargetRefused("resolves to a private, loopback or link-local address")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme=parts.scheme, host=host, port=port, address=str(ips[0]), path=path)
