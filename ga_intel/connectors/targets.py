"""Which hosts a tenant's connections may reach.

A tenant admin chooses the host of the tenant's SMTP, SFTP, PostgreSQL and BigQuery
endpoint, and the platform then connects from inside its own network. So a tenant
target must be a public address: loopback, link-local (cloud metadata), private,
shared and reserved ranges are refused, unless the operator allows a network with
`GA_INTEL_ALLOWED_NETWORKS` (a comma-separated CIDR list; the test suite and `make dev`
allow 127.0.0.0/8 for their local servers).

Every address a name resolves to is checked, and the connectors connect to the address
that was checked (not to the name again), so a DNS answer that changes between the
check and the connection (rebinding) cannot lead inside.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass

from ga_intel.errors import GaIntelError, ServiceError

ALLOWED_VAR = "GA_INTEL_ALLOWED_NETWORKS"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def allowed_networks() -> list[Network]:
    raw = os.environ.get(ALLOWED_VAR, "")
    networks = []
    for part in raw.replace(";", ",").replace(" ", ",").split(","):
        if not part.strip():
            continue
        try:
            networks.append(ipaddress.ip_network(part.strip(), strict=False))
        except ValueError:
            raise GaIntelError(
                f"{ALLOWED_VAR}: {part.strip()!r} is not a network",
                hint="give CIDR blocks separated by commas, e.g. 10.20.0.0/16,127.0.0.1/32",
            ) from None
    return networks


def refusal(address: str) -> str | None:
    """Why a tenant connection may not reach `address`, or None."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if any(ip in net for net in allowed_networks()):
        return None
    for kind, test in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
    ):
        if test:
            return f"a {kind} address"
    if not ip.is_global:
        return "a reserved, non-public address"
    return None


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    address: str  # the checked address to connect to


def check_host(service: str, host: str, port: int, field: str = "host") -> Target:
    """Resolve `host` and check every address; the first one is the one to connect to.
    Raises ServiceError naming the field and the operator's setting."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ServiceError(
            service,
            f"cannot resolve {field} {host!r}: {getattr(exc, 'strerror', None) or exc}",
            hint=f"check {service}.{field}",
            transient=True,
        ) from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for address in addresses:
        why = refusal(address)
        if why:
            shown = host if host == address else f"{host} ({address})"
            raise ServiceError(
                service,
                f"{field} {shown} is {why}; tenant connections may reach only public addresses",
                hint=f"use the service's public address; an operator may allow a network with {ALLOWED_VAR}",
            )
    return Target(host, port, addresses[0])


def connect(target: Target, timeout: float) -> socket.socket:
    """A TCP connection to the checked address (never a fresh lookup of the name)."""
    return socket.create_connection((target.address, target.port), timeout=timeout)
