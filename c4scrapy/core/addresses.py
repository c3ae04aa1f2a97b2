"""Which hosts are public: the address rule behind c4scrapy's private-address guard."""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_ip_address(host: str) -> bool:
    """True for an IPv4 or IPv6 address (brackets allowed)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def ip_of(host: str) -> IPAddress | None:
    """The address ``host`` spells, in any form a resolver accepts (brackets, a trailing
    dot, ``127.1``, ``0x7f.1``, ``2130706433``), or None for a name."""
    host = host.strip().strip("[]").lower().rstrip(".")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return parse_ipv4(host)


def parse_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The WHATWG IPv4 parser, which is also what resolvers read: ``0x7f.1``, ``2130706433``,
    ``0177.0.0.1`` and ``127.1`` are 127.0.0.1; None for anything else (a name)."""
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    if len(parts) > 4:
        return None
    numbers = []
    for part in parts:
        try:
            if part[:2] in ("0x", "0X"):
                numbers.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part[0] == "0":
                numbers.append(int(part[1:], 8))
            else:
                numbers.append(int(part, 10) if part.isdigit() else -1)
        except ValueError:
            return None
    if any(n < 0 or n > 255 for n in numbers[:-1]) or numbers[-1] < 0:
        return None
    if numbers[-1] >= 256 ** (5 - len(numbers)):
        return None
    value = numbers[-1] + sum(n << (8 * (3 - i)) for i, n in enumerate(numbers[:-1]))
    return ipaddress.IPv4Address(value)


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for: IPv4-mapped (``::ffff:a.b.c.d``),
    IPv4-compatible (``::a.b.c.d``), 6to4 (``2002::/16``), NAT64 (``64:ff9b::/96``) or
    Teredo (the client); None otherwise."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if int(ip) >> 32 == 0:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def is_public_ip(ip: IPAddress) -> bool:
    """Globally routable unicast: not loopback, private, link-local, shared, reserved,
    multicast or unspecified, also when an IPv6 address embeds such an IPv4 address."""
    inner = embedded_ipv4(ip)
    if inner is not None and not is_public_ip(inner):
        return False
    return ip.is_global and not ip.is_multicast


def is_local_name(host: str) -> bool:
    """``localhost`` and its subdomains, with or without the trailing dot."""
    name = host.strip().lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


def is_private_host(host: str) -> bool:
    """True for a local name or an address that is not public (see ``is_public_ip``).

    A name other than localhost is not decided here (False): resolve it first.
    """
    if is_local_name(host):
        return True
    ip = ip_of(host)
    return ip is not None and not is_public_ip(ip)
