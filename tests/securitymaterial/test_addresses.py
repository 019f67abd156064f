"""The one address policy: internal addresses, IPv6 forms that carry an IPv4 address judged
by the address they carry, the settings that relax it, and the address a connection uses."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from securitymaterial import addresses


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "169.254.169.254",
        "100.64.0.1",
        "::1",
        "fe80::1%eth0",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "64:ff9b::7f00:1",
        "64:ff9b::a9fe:a9fe",  # NAT64 of 127.0.0.1, 169.254.169.254
        "2002:7f00:1::",
        "2002:a00:1::1",  # 6to4 of 127.0.0.1, 10.0.0.1
        "::127.0.0.1",
        "::10.0.0.1",  # IPv4-compatible
        "::ffff:0:127.0.0.1",
        "::ffff:0:a9fe:a9fe",  # SIIT (IPv4-translated)
        "224.0.0.1",
        "ff02::1",
    ],
)
def test_internal_addresses_and_the_ipv6_forms_that_carry_one(address: str) -> None:
    assert addresses.is_internal_address(address)


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "2606:4700::1111", "64:ff9b::808:808", "2002:808:808::1", "::8.8.8.8"],
)
def test_public_addresses_and_the_ipv6_forms_that_carry_one(address: str) -> None:
    assert not addresses.is_internal_address(address)


def test_the_settings_relax_the_policy_as_documented(settings: Any) -> None:
    settings.ALLOW_PRIVATE_TOKEN_ENDPOINTS = False
    settings.ALLOW_LOOPBACK_TOKEN_ENDPOINTS = False
    assert addresses.is_refused("127.0.0.1") and addresses.is_refused("10.0.0.1")
    settings.ALLOW_LOOPBACK_TOKEN_ENDPOINTS = True  # what `make run` sets
    assert not addresses.is_refused("127.0.0.1") and not addresses.is_refused("::1")
    assert not addresses.is_refused("64:ff9b::7f00:1")  # loopback, carried
    assert addresses.is_refused("10.0.0.1") and addresses.is_refused("169.254.169.254")
    settings.ALLOW_PRIVATE_TOKEN_ENDPOINTS = True
    assert not addresses.is_refused("10.0.0.1")


def test_a_name_with_any_internal_address_is_refused_and_the_checked_one_returned(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.ALLOW_PRIVATE_TOKEN_ENDPOINTS = False
    settings.ALLOW_LOOPBACK_TOKEN_ENDPOINTS = False
    answers = {"mixed.test": ["93.184.216.34", "10.0.0.7"], "public.test": ["93.184.216.34"]}

    def resolve(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answers[host]]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(addresses.InternalAddressRefused):
        addresses.checked_address("mixed.test", 443)
    assert addresses.checked_address("public.test", 443) == "93.184.216.34"
    with pytest.raises(socket.gaierror):
        addresses.checked_address("nowhere.test", 443)
