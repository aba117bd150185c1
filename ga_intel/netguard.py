"""Which network targets a tenant may make ga-intel connect to.

A tenant-supplied host (a webhook URL, a connection's server) must not point ga-intel at
itself or at the operator's private network: loopback, private, link-local, multicast,
reserved and unspecified addresses are refused, unless the operator lists their networks
in `GA_INTEL_ALLOWED_NETWORKS` (comma-separated CIDRs, e.g. `10.20.0.0/16,127.0.0.1/32`).
Every address the host resolves to is checked, at the moment of connecting.
"""

from __future__ import annotations

import ipaddress
import os
import socket

from ga_intel.errors import GaIntelError

ENV_VAR = "GA_INTEL_ALLOWED_NETWORKS"


class TargetRefused(GaIntelError):
    """The host resolves to an address ga-intel may not connect to."""


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    raw = os.environ.get(ENV_VAR, "")
    networks = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise GaIntelError(
                f"{ENV_VAR}: {part!r} is not a network",
                hint="use CIDRs separated by commas, e.g. 10.20.0.0/16,127.0.0.1/32",
            ) from None
    return networks


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not (address.is_multicast or address.is_reserved)


def check_target(host: str, port: int) -> None:
    """Raise `TargetRefused` unless every address `host` resolves to is public or allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(f"{host}: cannot be resolved ({exc})", hint="check the host name") from None
    allowed = allowed_networks()
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if _public(address) or any(address in net for net in allowed):
            continue
        raise TargetRefused(
            f"{host}:{port} resolves to {address}, a loopback, private or reserved address",
            hint=f"use a public host, or have the operator allow the network in {ENV_VAR}",
        )
