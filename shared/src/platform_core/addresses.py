"""Which network addresses a call to a tenant's identity provider may reach, judged without I/O.

Owns the address classes such a call must never reach, from the IANA special-purpose registries
(RFC 6890): loopback, private (RFC 1918, unique-local RFC 4193), link-local (RFC 3927,
RFC 4291 §2.5.6), shared CGNAT space (RFC 6598), multicast, unspecified, broadcast,
documentation (RFC 5737, RFC 3849, RFC 9637), benchmarking (RFC 2544, RFC 5180), site-local
(RFC 3879) and reserved space; the IPv6 forms that carry an IPv4 address (mapped and compatible,
RFC 4291 §2.5.5; 6to4, RFC 3056; NAT64, RFC 6052; Teredo, RFC 4380), judged by that address;
the literal forms a resolver accepts for an IPv4 address (`inet_aton`: `127.1`, `2130706433`,
`0x7f.1`, `0177.0.0.1`); and the static check of a provider URL (contract §2: https, or http to
a loopback host only when insecure provider URLs are allowed).
"""

from __future__ import annotations

import enum
import string
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from urllib.parse import urlsplit

IPAddress = IPv4Address | IPv6Address

MAX_URL_LENGTH = 3000
HTTPS_ONLY = "must use https (http only to a loopback host with insecure URLs allowed)"


class AddressClass(enum.Enum):
    """What an address is, worded to complete "host is ..." in a refusal."""

    PUBLIC = "a public unicast address"
    LOOPBACK = "a loopback address"
    PRIVATE = "a private address"
    SHARED = "a shared (carrier-grade NAT) address"
    LINK_LOCAL = "a link-local address"
    SITE_LOCAL = "a site-local address"
    MULTICAST = "a multicast address"
    UNSPECIFIED = "the unspecified address"
    BROADCAST = "the broadcast address"
    DOCUMENTATION = "a documentation address"
    BENCHMARKING = "a benchmarking address"
    RESERVED = "a reserved address"
    EMBEDS_NON_PUBLIC = "an IPv6 address carrying a non-public IPv4 address"


_C = AddressClass

# First match wins: a narrower range is listed before the range that contains it.
_IPV4_RANGES = tuple(
    (IPv4Network(network), klass)
    for network, klass in (
        ("0.0.0.0/32", _C.UNSPECIFIED),
        ("0.0.0.0/8", _C.RESERVED),  # "this network": Linux connects it to the local host
        ("10.0.0.0/8", _C.PRIVATE),
        ("100.64.0.0/10", _C.SHARED),
        ("127.0.0.0/8", _C.LOOPBACK),
        ("169.254.0.0/16", _C.LINK_LOCAL),
        ("172.16.0.0/12", _C.PRIVATE),
        ("192.0.0.0/24", _C.RESERVED),
        ("192.0.2.0/24", _C.DOCUMENTATION),
        ("192.88.99.0/24", _C.RESERVED),
        ("192.168.0.0/16", _C.PRIVATE),
        ("198.18.0.0/15", _C.BENCHMARKING),
        ("198.51.100.0/24", _C.DOCUMENTATION),
        ("203.0.113.0/24", _C.DOCUMENTATION),
        ("224.0.0.0/4", _C.MULTICAST),
        ("255.255.255.255/32", _C.BROADCAST),
        ("240.0.0.0/4", _C.RESERVED),
    )
)

# Checked after the IPv4-carrying forms, so Teredo is judged before the 2001::/23 block holding it.
_IPV6_RANGES = tuple(
    (IPv6Network(network), klass)
    for network, klass in (
        ("2001:2::/48", _C.BENCHMARKING),
        ("2001:db8::/32", _C.DOCUMENTATION),
        ("2001::/23", _C.RESERVED),
        ("3fff::/20", _C.DOCUMENTATION),
        ("fc00::/7", _C.PRIVATE),
        ("fe80::/10", _C.LINK_LOCAL),
        ("fec0::/10", _C.SITE_LOCAL),
        ("ff00::/8", _C.MULTICAST),
    )
)
# Outside 2000::/3 nothing else is allocated for global unicast, so the rest is reserved.
_IPV6_GLOBAL_UNICAST = IPv6Network("2000::/3")
_NAT64 = IPv6Network("64:ff9b::/96")
_LOW_32_BITS = 0xFFFFFFFF


def classify(address: IPAddress) -> AddressClass:
    if isinstance(address, IPv4Address):
        return _classify_v4(address)
    return _classify_v6(address)


def is_public_unicast(address: IPAddress) -> bool:
    return classify(address) is AddressClass.PUBLIC


def allowed(address: IPAddress, allow_insecure_loopback: bool) -> bool:
    """Whether a provider call may connect to `address`: loopback only for the local stand-ins."""
    klass = classify(address)
    return klass is AddressClass.PUBLIC or (
        klass is AddressClass.LOOPBACK and allow_insecure_loopback
    )


def _classify_v4(address: IPv4Address) -> AddressClass:
    for network, klass in _IPV4_RANGES:
        if address in network:
            return klass
    return AddressClass.PUBLIC


def _classify_v6(address: IPv6Address) -> AddressClass:
    address = IPv6Address(int(address))  # a zone id says which link, not what the address is
    if address == IPv6Address("::"):
        return AddressClass.UNSPECIFIED
    if address == IPv6Address("::1"):
        return AddressClass.LOOPBACK
    if address.ipv4_mapped is not None:
        return _classify_v4(address.ipv4_mapped)  # the socket connects to that very address
    carried = embedded_ipv4(address)
    if carried:
        public = all(_classify_v4(inner) is AddressClass.PUBLIC for inner in carried)
        return AddressClass.PUBLIC if public else AddressClass.EMBEDS_NON_PUBLIC
    for network, klass in _IPV6_RANGES:
        if address in network:
            return klass
    if address in _IPV6_GLOBAL_UNICAST:
        return AddressClass.PUBLIC
    return AddressClass.RESERVED


def embedded_ipv4(address: IPv6Address) -> tuple[IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, 6to4, NAT64, Teredo)."""
    address = IPv6Address(int(address))
    if address.ipv4_mapped is not None:
        return (address.ipv4_mapped,)
    if address.sixtofour is not None:
        return (address.sixtofour,)
    if address.teredo is not None:
        return address.teredo  # the server and the client: traffic involves both
    if address in _NAT64 or (int(address) >> 32 == 0 and int(address) > 1):
        return (IPv4Address(int(address) & _LOW_32_BITS),)
    return ()


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address `host` denotes if it is an IP literal in any form a resolver accepts, else None.

    `host` is as a URL carries it: bracketed or not, an IPv6 zone id as `%25` or `%`. Raises
    ValueError for a host shaped like a literal that denotes no address: no top-level domain is
    numeric, so such a host is never a name either and must not be handed to a resolver.
    """
    if host.startswith("[") and host.endswith("]"):
        return _ipv6_literal(host[1:-1])
    if ":" in host:
        return _ipv6_literal(host)
    return _ipv4_literal(host)


def _ipv6_literal(text: str) -> IPv6Address:
    try:
        return IPv6Address(text.replace("%25", "%", 1))
    except ValueError:
        raise ValueError("host is a malformed IPv6 address literal") from None


def _ipv4_literal(host: str) -> IPv4Address | None:
    labels = host.lower().split(".")
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()  # some resolvers, and browsers, read "127.0.0.1." as the address
    if not _is_number(labels[-1]):
        return None
    if len(labels) > 4:
        raise ValueError("host is a malformed IPv4 address literal")
    values = [_inet_number(label) for label in labels]
    *leading, last = values
    # inet_aton: a.b.c.d, a.b.c (c has 16 bits), a.b (b has 24 bits), a (32 bits)
    if any(value > 0xFF for value in leading) or last >= 1 << (8 * (5 - len(values))):
        raise ValueError("host is a malformed IPv4 address literal")
    value = sum(part << (8 * (3 - index)) for index, part in enumerate(leading))
    return IPv4Address(value + last)


def _is_number(label: str) -> bool:
    if label.startswith("0x"):
        return all(char in string.hexdigits for char in label[2:])
    return label != "" and label.isascii() and label.isdigit()


def _inet_number(label: str) -> int:
    """One part of an `inet_aton` address: decimal, 0x-hexadecimal or 0-octal."""
    if label.startswith("0x"):
        digits, base = label[2:] or "0", 16
    elif len(label) > 1 and label.startswith("0"):
        digits, base = label[1:], 8
    else:
        digits, base = label, 10
    alphabet = string.hexdigits if base == 16 else string.digits[:base]
    significant = digits.lstrip("0") or "0"
    # 11 digits hold any 32-bit value in these bases; longer ones are not worth converting
    if not digits or not all(char in alphabet for char in digits) or len(significant) > 11:
        raise ValueError("host is a malformed IPv4 address literal")
    value = int(significant, base)
    if value > _LOW_32_BITS:
        raise ValueError("host is a malformed IPv4 address literal")
    return value


def is_loopback_name(host: str) -> bool:
    """`localhost` and its subdomains, which resolvers must answer with loopback (RFC 6761 §6.3)."""
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


def check_destination(scheme: str, host: str, *, allow_insecure_loopback: bool) -> None:
    """Raise ValueError, saying why, unless a provider call may go to `host` over `scheme`.

    A name passes here; what it resolves to is judged when it is resolved.
    """
    name = _ascii_host(host)
    address = parse_ip_literal(name)
    if address is None:
        loopback = is_loopback_name(name)
    else:
        loopback = classify(address) is AddressClass.LOOPBACK
    if scheme != "https" and not (scheme == "http" and loopback and allow_insecure_loopback):
        raise ValueError(HTTPS_ONLY)
    if address is not None and not allowed(address, allow_insecure_loopback):
        raise ValueError(f"host is {classify(address).value}")
    if address is None and loopback and not allow_insecure_loopback:
        raise ValueError("host is a loopback name (allowed only with insecure provider URLs)")


def _ascii_host(host: str) -> str:
    """The host as an HTTP client sends it: fullwidth digits and ideographic dots become ASCII."""
    if host.isascii():
        return host.lower()
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError("host is not a valid host name") from None


def check_provider_destination(url: str, *, allow_insecure_loopback: bool) -> str:
    """Return `url` if a provider URL may be it, judged without resolving; else raise ValueError.

    Contract §2's rules (https, or http to a loopback host when insecure URLs are allowed; an
    absolute URL without credentials or fragment) plus the judgement of an IP literal host.
    """
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"must be at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname, parts.port
    except ValueError:
        raise ValueError("must be an absolute URL with a valid host and port") from None
    if not host or parts.username or parts.password or parts.fragment:
        raise ValueError("must be an absolute URL with a host, no credentials or fragment")
    check_destination(parts.scheme, host, allow_insecure_loopback=allow_insecure_loopback)
    return url
