"""The one address policy for every outbound connection that carries a secret (token
endpoints, mail hosts): resolve the host, check every address it has, and connect to exactly
the address that was checked, so a DNS answer cannot change in between (rebinding).

Internal addresses (loopback, private, link-local with cloud metadata at 169.254.169.254,
shared, reserved, multicast) are refused unless ALLOW_PRIVATE_TOKEN_ENDPOINTS is on
(loopback alone: ALLOW_LOOPBACK_TOKEN_ENDPOINTS). IPv6 forms that carry an IPv4 address
are judged by the address they carry.
"""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address

from django.conf import settings

# IPv6 prefixes whose last 32 bits are an IPv4 address that the traffic reaches:
# NAT64 (RFC 6052), IPv4-translated / SIIT (RFC 2765), IPv4-compatible (RFC 4291 §2.5.5.1).
_EMBEDDING_PREFIXES = (
    IPv6Network("64:ff9b::/96"),
    IPv6Network("::ffff:0:0:0/96"),
    IPv6Network("::/96"),
)


class InternalAddressRefused(Exception):
    """The host is, or resolves to, an internal address, and those are not allowed."""


def embedded_ipv4(ip: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, if it stands for one."""
    if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d
        return ip.ipv4_mapped
    if ip.sixtofour is not None:  # 2002:aabb:ccdd::/48 (RFC 3056)
        return ip.sixtofour
    if int(ip) > 1 and any(ip in prefix for prefix in _EMBEDDING_PREFIXES):  # not :: or ::1
        return IPv4Address(ip.packed[12:])
    return None


def _ip(address: str) -> IPv4Address | IPv6Address:
    """The address a connection reaches; ValueError if it is no address."""
    ip: IPv4Address | IPv6Address = ip_address(address.split("%", 1)[0])  # no IPv6 zone
    if isinstance(ip, IPv6Address):
        return embedded_ipv4(ip) or ip
    return ip


def is_internal_address(address: str) -> bool:
    """Anything that is not a global unicast address; ValueError if it is no address."""
    ip = _ip(address)
    return not ip.is_global or ip.is_multicast


def is_refused(address: str) -> bool:
    """The policy for one address, with the settings that relax it."""
    if not is_internal_address(address) or settings.ALLOW_PRIVATE_TOKEN_ENDPOINTS:
        return False
    return not (settings.ALLOW_LOOPBACK_TOKEN_ENDPOINTS and _ip(address).is_loopback)


def resolves_to_refused(host: str, port: int) -> bool:
    """For a form: whether the host is, or resolves to, an address the policy refuses. A
    name that does not resolve now is not refused here; checked_address() refuses it when
    the connection is made."""
    try:
        return is_refused(host)
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False
    return any(is_refused(str(info[4][0])) for info in infos)


def checked_address(host: str, port: int) -> str:
    """The address to connect to for host:port, after the policy: socket.gaierror if the
    name does not resolve, InternalAddressRefused if any of its addresses is internal (and
    those are not allowed). Connect to this address, and verify TLS against `host`."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [str(info[4][0]) for info in infos]
    if any(is_refused(address) for address in addresses):
        raise InternalAddressRefused(host)
    return addresses[0]
