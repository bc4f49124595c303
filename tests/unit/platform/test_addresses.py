"""Which addresses a provider call may reach: every special-purpose class, IPv6 forms carrying
IPv4, the literal spellings a resolver accepts, the loopback flag and the static URL check."""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv6Address, ip_address

import pytest

from platform_core.addresses import (
    MAX_URL_LENGTH,
    AddressClass,
    allowed,
    check_provider_destination,
    classify,
    embedded_ipv4,
    is_loopback_name,
    is_public_unicast,
    parse_ip_literal,
)

C = AddressClass
THIS_HOST = str(IPv4Address(0))  # spelled out so no linter takes it for a bind address

IPV4_CLASSES = [
    ("8.8.8.8", C.PUBLIC),
    ("1.1.1.1", C.PUBLIC),
    ("9.255.255.255", C.PUBLIC),
    ("11.0.0.1", C.PUBLIC),
    ("100.63.255.255", C.PUBLIC),
    ("100.128.0.0", C.PUBLIC),
    ("172.15.255.255", C.PUBLIC),
    ("172.32.0.0", C.PUBLIC),
    ("198.17.255.255", C.PUBLIC),
    ("198.20.0.0", C.PUBLIC),
    ("223.255.255.255", C.PUBLIC),
    (THIS_HOST, C.UNSPECIFIED),
    ("0.1.2.3", C.RESERVED),
    ("10.0.0.1", C.PRIVATE),
    ("10.255.255.255", C.PRIVATE),
    ("172.16.0.1", C.PRIVATE),
    ("172.31.255.255", C.PRIVATE),
    ("192.168.0.1", C.PRIVATE),
    ("100.64.0.1", C.SHARED),
    ("100.127.255.255", C.SHARED),
    ("127.0.0.1", C.LOOPBACK),
    ("127.255.255.254", C.LOOPBACK),
    ("169.254.169.254", C.LINK_LOCAL),
    ("169.254.0.1", C.LINK_LOCAL),
    ("192.0.0.8", C.RESERVED),
    ("192.0.2.10", C.DOCUMENTATION),
    ("198.51.100.7", C.DOCUMENTATION),
    ("203.0.113.9", C.DOCUMENTATION),
    ("192.88.99.1", C.RESERVED),
    ("198.18.0.1", C.BENCHMARKING),
    ("198.19.255.255", C.BENCHMARKING),
    ("224.0.0.1", C.MULTICAST),
    ("239.255.255.250", C.MULTICAST),
    ("240.0.0.1", C.RESERVED),
    ("255.255.255.254", C.RESERVED),
    ("255.255.255.255", C.BROADCAST),
]

IPV6_CLASSES = [
    ("2606:4700:4700::1111", C.PUBLIC),
    ("2001:4860:4860::8888", C.PUBLIC),
    ("2a00:1450:4001::200e", C.PUBLIC),
    ("::", C.UNSPECIFIED),
    ("::1", C.LOOPBACK),
    ("fc00::1", C.PRIVATE),
    ("fd12:3456:789a::1", C.PRIVATE),
    ("fe80::1", C.LINK_LOCAL),
    ("fe80::1%eth0", C.LINK_LOCAL),
    ("febf::1", C.LINK_LOCAL),
    ("fec0::1", C.SITE_LOCAL),
    ("ff02::1", C.MULTICAST),
    ("ff05::1:3", C.MULTICAST),
    ("2001:db8::1", C.DOCUMENTATION),
    ("3fff::1", C.DOCUMENTATION),
    ("2001:2::1", C.BENCHMARKING),
    ("2001:10::1", C.RESERVED),
    ("100::1", C.RESERVED),
    ("64:ff9b:1::1", C.RESERVED),
    ("4000::1", C.RESERVED),
    ("::ffff:0:a00:1", C.RESERVED),
    # IPv4-mapped: the socket connects to the IPv4 address itself
    ("::ffff:8.8.8.8", C.PUBLIC),
    ("::ffff:127.0.0.1", C.LOOPBACK),
    ("::ffff:10.0.0.1", C.PRIVATE),
    ("::ffff:169.254.169.254", C.LINK_LOCAL),
    ("::ffff:0.0.0.0", C.UNSPECIFIED),
    # IPv4-compatible, 6to4, NAT64 and Teredo: judged by what they carry
    ("::8.8.8.8", C.PUBLIC),
    ("::127.0.0.1", C.EMBEDS_NON_PUBLIC),
    ("::10.0.0.1", C.EMBEDS_NON_PUBLIC),
    ("2002:808:808::1", C.PUBLIC),
    ("2002:7f00:1::", C.EMBEDS_NON_PUBLIC),
    ("2002:a9fe:a9fe::1", C.EMBEDS_NON_PUBLIC),
    ("2002:c0a8:101::", C.EMBEDS_NON_PUBLIC),
    ("64:ff9b::8.8.8.8", C.PUBLIC),
    ("64:ff9b::169.254.169.254", C.EMBEDS_NON_PUBLIC),
    ("64:ff9b::10.0.0.1", C.EMBEDS_NON_PUBLIC),
    ("2001:0:808:808::f7f7:f7fe", C.PUBLIC),  # server 8.8.8.8, client 8.8.8.1
    ("2001:0:808:808::f5ff:fffe", C.EMBEDS_NON_PUBLIC),  # client 10.0.0.1
    ("2001:0:a00:1::f7f7:f7fe", C.EMBEDS_NON_PUBLIC),  # server 10.0.0.1
]


@pytest.mark.parametrize(("text", "expected"), IPV4_CLASSES + IPV6_CLASSES)
def test_every_address_is_classified_by_the_range_it_belongs_to(
    text: str, expected: AddressClass
) -> None:
    assert classify(ip_address(text)) is expected
    assert is_public_unicast(ip_address(text)) is (expected is C.PUBLIC)


def test_every_class_of_address_is_covered_by_the_tables() -> None:
    assert {klass for _, klass in IPV4_CLASSES + IPV6_CLASSES} == set(AddressClass)


@pytest.mark.parametrize(
    ("text", "carried"),
    [
        ("::ffff:10.0.0.1", ["10.0.0.1"]),
        ("::10.0.0.1", ["10.0.0.1"]),
        ("2002:a9fe:a9fe::1", ["169.254.169.254"]),
        ("64:ff9b::a9fe:a9fe", ["169.254.169.254"]),
        ("2001:0:808:808::f5ff:fffe", ["8.8.8.8", "10.0.0.1"]),
        ("::1", []),
        ("::", []),
        ("2606:4700::1", []),
    ],
)
def test_the_ipv4_addresses_an_ipv6_form_carries_are_extracted(
    text: str, carried: list[str]
) -> None:
    assert embedded_ipv4(IPv6Address(text)) == tuple(IPv4Address(a) for a in carried)


@pytest.mark.parametrize(
    ("text", "without_flag", "with_flag"),
    [
        ("8.8.8.8", True, True),
        ("2606:4700::1", True, True),
        ("127.0.0.1", False, True),
        ("127.9.9.9", False, True),
        ("::1", False, True),
        ("::ffff:127.0.0.1", False, True),
        ("::127.0.0.1", False, False),
        ("2002:7f00:1::", False, False),
        (THIS_HOST, False, False),
        ("::", False, False),
        ("10.0.0.1", False, False),
        ("169.254.169.254", False, False),
        ("fe80::1", False, False),
        ("100.64.0.1", False, False),
    ],
)
def test_loopback_is_allowed_only_with_the_insecure_flag_and_nothing_else_non_public_ever(
    text: str, without_flag: bool, with_flag: bool
) -> None:
    assert allowed(ip_address(text), False) is without_flag
    assert allowed(ip_address(text), True) is with_flag


ODD_IPV4_SPELLINGS = [
    ("127.0.0.1", "127.0.0.1"),
    ("2130706433", "127.0.0.1"),
    ("0x7f000001", "127.0.0.1"),
    ("017700000001", "127.0.0.1"),
    ("127.1", "127.0.0.1"),
    ("127.0.1", "127.0.0.1"),
    ("0x7f.1", "127.0.0.1"),
    ("0X7F.0.0.1", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"),
    ("0x7f.0x0.0.01", "127.0.0.1"),
    ("127.0.0.0x1", "127.0.0.1"),
    ("0x000000007f.1", "127.0.0.1"),
    ("00000000000000000000127.0.0.1", "87.0.0.1"),
    ("169.254.43518", "169.254.169.254"),
    ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
    ("0xa9fea9fe", "169.254.169.254"),
    ("2852039166", "169.254.169.254"),
    ("10.1", "10.0.0.1"),
    ("0", THIS_HOST),
    ("1.16777215", "1.255.255.255"),
]


@pytest.mark.parametrize(("host", "address"), ODD_IPV4_SPELLINGS)
def test_an_ipv4_literal_is_read_as_the_address_inet_aton_reads(host: str, address: str) -> None:
    assert parse_ip_literal(host) == IPv4Address(address)
    assert socket.inet_ntoa(socket.inet_aton(host)) == address


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1.", "127.0.0.1"),
        ("0x.1", "0.0.0.1"),
        ("::1", "::1"),
        ("[::1]", "::1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("::ffff:7f00:1", "::ffff:7f00:1"),
        ("[fe80::1%25eth0]", "fe80::1%eth0"),
        ("fe80::1%25eth0", "fe80::1%eth0"),
        ("fe80::1%eth0", "fe80::1%eth0"),
        ("[64:ff9b::a9fe:a9fe]", "64:ff9b::a9fe:a9fe"),
    ],
)
def test_other_literal_forms_are_read_as_the_address_they_denote(host: str, address: str) -> None:
    assert parse_ip_literal(host) == ip_address(address)


@pytest.mark.parametrize(
    "host",
    [
        "example.com",
        "idp.test",
        "localhost",
        "0x7f.example",
        "1.2.3.com",
        "a0x1",
        "xn--80ak6aa92e.com",
    ],
)
def test_a_host_name_is_not_a_literal(host: str) -> None:
    assert parse_ip_literal(host) is None


@pytest.mark.parametrize(
    "host",
    [
        "1.2.3.4.5",
        "256.0.0.1",
        "1.2.3.256",
        "1.65536.1",
        "1.16777216",
        "4294967296",
        "08.0.0.1",
        "0x1g.1",
        "1..1",
        ".1",
        "abc.1",
        "99999999999999999999999",
        "[::zz]",
        "[1.2.3.4]",
        "[]",
        "1:2",
        "::ffff:127.1",
    ],
)
def test_a_host_shaped_like_a_literal_that_denotes_no_address_is_refused(host: str) -> None:
    with pytest.raises(ValueError, match="malformed"):
        parse_ip_literal(host)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("localhost.", True),
        ("idp.localhost", True),
        ("localhost.example.com", False),
        ("notlocalhost", False),
    ],
)
def test_localhost_and_its_subdomains_are_loopback_names(host: str, loopback: bool) -> None:
    assert is_loopback_name(host) is loopback


@pytest.mark.parametrize(
    "url",
    [
        "https://auth.atlassian.com/oauth/token",
        "https://idp.example.com:8443/token?audience=api",
        "https://8.8.8.8/token",
        "https://[2606:4700::1]/token",
        "https://[::ffff:8.8.8.8]/token",
    ],
)
def test_a_public_https_url_passes_the_static_check(url: str) -> None:
    assert check_provider_destination(url, allow_insecure_loopback=False) == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://auth.example.com/token", "must use https"),
        ("ftp://auth.example.com/token", "must use https"),
        ("http://127.0.0.1:9400/token", "must use https"),
        ("https://127.0.0.1/token", "loopback address"),
        ("https://localhost/token", "loopback name"),
        ("https://idp.localhost/token", "loopback name"),
        ("https://[::1]/token", "loopback address"),
        ("https://[::ffff:127.0.0.1]/token", "loopback address"),
        ("https://2130706433/token", "loopback address"),
        ("https://0x7f.1/token", "loopback address"),
        ("https://127.1/token", "loopback address"),
        ("https://0177.0.0.1/token", "loopback address"),
        ("https://169.254.169.254/latest/meta-data", "link-local address"),
        ("https://169.254.43518/latest/meta-data", "link-local address"),
        ("https://0xa9fea9fe/latest/meta-data", "link-local address"),
        ("https://[::ffff:a9fe:a9fe]/latest", "link-local address"),
        ("https://[fe80::1%25eth0]/token", "link-local address"),
        ("https://\uff11\uff16\uff19.254.169.254/latest", "link-local address"),
        ("https://169\u3002254\u3002169\u3002254/latest", "link-local address"),
        ("https://10.0.0.1/token", "private address"),
        ("https://192.168.1.1/token", "private address"),
        ("https://172.16.5.4/token", "private address"),
        ("https://[fd00::1]/token", "private address"),
        ("https://100.64.0.1/token", "shared (carrier-grade NAT) address"),
        ("https://0.0.0.0/token", "unspecified address"),
        ("https://[::]/token", "unspecified address"),
        ("https://224.0.0.1/token", "multicast address"),
        ("https://255.255.255.255/token", "broadcast address"),
        ("https://192.0.2.1/token", "documentation address"),
        ("https://198.18.0.1/token", "benchmarking address"),
        ("https://240.0.0.1/token", "reserved address"),
        ("https://[fec0::1]/token", "site-local address"),
        ("https://[2002:a9fe:a9fe::]/token", "carrying a non-public IPv4 address"),
        ("https://[64:ff9b::a9fe:a9fe]/token", "carrying a non-public IPv4 address"),
        ("https://1.2.3.4.5/token", "malformed IPv4"),
        ("https://[::zz]/token", "valid host"),
        ("https://auth.example.com:99999/token", "valid host and port"),
        ("https://user:password@auth.example.com/token", "no credentials"),
        ("https://auth.example.com/token#fragment", "no credentials or fragment"),
        ("https:///token", "with a host"),
        ("/token", "with a host"),
        ("https://auth.example.com/" + "a" * MAX_URL_LENGTH, "at most"),
    ],
)
def test_a_url_aimed_inward_or_malformed_is_refused_by_the_static_check(
    url: str, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        check_provider_destination(url, allow_insecure_loopback=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9400/token",
        "http://localhost:9400/token",
        "http://idp.localhost:9400/token",
        "http://[::1]:9400/token",
        "http://127.1:9400/token",
        "https://127.0.0.1/token",
        "https://auth.example.com/token",
    ],
)
def test_with_insecure_urls_allowed_loopback_passes_over_http_and_https(url: str) -> None:
    assert check_provider_destination(url, allow_insecure_loopback=True) == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://auth.example.com/token", "must use https"),
        ("http://10.0.0.1/token", "must use https"),
        ("http://0.0.0.0:9400/token", "must use https"),
        ("https://10.0.0.1/token", "private address"),
        ("https://169.254.169.254/token", "link-local address"),
        ("https://[::127.0.0.1]/token", "carrying a non-public IPv4 address"),
    ],
)
def test_with_insecure_urls_allowed_only_loopback_gains_anything(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_provider_destination(url, allow_insecure_loopback=True)


def test_a_refusal_never_repeats_the_url_its_host_or_its_query() -> None:
    url = "https://10.0.0.1/token?client_secret=s3cr3t-value&code=abc123"
    with pytest.raises(ValueError) as refused:
        check_provider_destination(url, allow_insecure_loopback=False)
    message = str(refused.value)
    assert "s3cr3t" not in message and "abc123" not in message and "10.0.0.1" not in message
