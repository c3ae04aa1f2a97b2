"""The address rule of the private-address guard, as a table."""

from __future__ import annotations

import pytest

from c4scrapy.core.addresses import ip_of, is_ip_address, is_private_host


@pytest.mark.parametrize(
    ("host", "private"),
    [
        ("127.0.0.1", True),
        ("127.9.9.9", True),
        ("10.1.2.3", True),
        ("172.16.0.1", True),
        ("192.168.0.1", True),
        ("169.254.169.254", True),  # cloud metadata
        ("169.254.1.1", True),
        ("100.64.0.1", True),  # shared address space
        ("0.0.0.0", True),  # unspecified
        ("255.255.255.255", True),
        ("224.0.0.1", True),  # multicast
        ("239.255.255.250", True),
        ("240.0.0.1", True),  # reserved
        ("::1", True),
        ("[::1]", True),
        ("::", True),
        ("fe80::1", True),
        ("fc00::1", True),
        ("ff0e::1", True),  # global-scope multicast
        ("[::ffff:127.0.0.1]", True),  # IPv4-mapped
        ("[::ffff:a9fe:a9fe]", True),
        ("[::7f00:1]", True),  # IPv4-compatible
        ("::10.0.0.1", True),
        ("2002:7f00:1::", True),  # 6to4 of 127.0.0.1
        ("2002:a9fe:a9fe::1", True),
        ("64:ff9b::7f00:1", True),  # NAT64 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", True),
        ("127.1", True),  # what a resolver reads as 127.0.0.1
        ("0x7f.0.0.1", True),
        ("2130706433", True),
        ("0177.0.0.1", True),
        ("127.0.0.1.", True),
        ("localhost", True),
        ("localhost.", True),
        ("LocalHost", True),
        ("app.localhost", True),
        ("app.localhost.", True),
        ("8.8.8.8", False),
        ("93.184.216.34", False),
        ("[2606:4700::1111]", False),
        ("2002:5db8:d822::1", False),  # 6to4 of a public address
        ("64:ff9b::808:808", False),  # NAT64 of 8.8.8.8
        ("[::ffff:8.8.8.8]", False),
        ("example.com", False),  # a name: resolve it first
        ("localhost.example.com", False),
        ("", False),
    ],
)
def test_is_private_host(host: str, private: bool) -> None:
    assert is_private_host(host) is private


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("[::1]", "::1"),
        ("10.0.0.1.", "10.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("example.com", None),
        ("1.2.3.4.5", None),
        ("999.1.1.1", None),
    ],
)
def test_ip_of(host: str, address: str | None) -> None:
    ip = ip_of(host)
    assert (str(ip) if ip is not None else None) == address


@pytest.mark.parametrize(
    ("host", "expected"),
    [("127.0.0.1", True), ("[::1]", True), ("example.com", False), ("127.1", False)],
)
def test_is_ip_address_is_strict(host: str, expected: bool) -> None:
    assert is_ip_address(host) is expected
