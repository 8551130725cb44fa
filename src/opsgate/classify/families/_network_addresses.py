"""Addresses: cloud metadata endpoints and loopback, however the address is spelt."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

__all__ = ["_words", "is_loopback_host", "is_metadata_host", "url_host"]


def _words(*groups: str) -> frozenset[str]:
    return frozenset(w for g in groups for w in g.split())


# ── addresses ──────────────────────────────────────────────────────────────
_METADATA_NAMES = _words(
    "metadata metadata.google.internal metadata.goog metadata.azure.com",
    "metadata.azure.internal instance-data instance-data.ec2.internal",
    "metadata.tencentyun.com metadata.packet.net metadata.platformequinix.com",
)
_METADATA_NETS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "169.254.169.0/24",  # AWS, GCP, Azure, OCI, DigitalOcean, OpenStack
        "169.254.170.0/24",  # ECS task and EKS pod-identity credentials
        "100.100.100.200/32",  # Alibaba Cloud
        "192.0.0.192/32",  # Oracle Cloud (classic)
        "fd00:ec2::/112",  # EC2 IPv6 (fd00:ec2::254, ::23)
    )
)
_LOOPBACK_NAMES = _words("localhost host.docker.internal lvh.me localtest.me ip6-localhost")
_PART = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")
# An IPv4 address inside a name (169.254.169.254.nip.io, 169-254-169-254.sslip.io)
# or as one 8-digit hex label (a9fea9fe.nip.io).
_EMBEDDED_V4 = re.compile(r"(?<![0-9])(\d{1,3})[.-](\d{1,3})[.-](\d{1,3})[.-](\d{1,3})(?![0-9])")
_EMBEDDED_HEX = re.compile(r"(?:^|[.-])(?:0x)?([0-9a-f]{8})(?=$|[.-])")


def _loose_ipv4(text: str) -> ipaddress.IPv4Address | None:
    """Parse like ``inet_aton``: 1–4 parts, each decimal, octal (0…) or hex (0x…),
    the last filling the remaining bytes — so ``2852039166``, ``0xa9fea9fe`` and
    ``0251.0376.0251.0376`` are all 169.254.169.254."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4 or not all(_PART.fullmatch(p) for p in parts):
        return None
    nums = [
        int(p, 16) if p[:2].lower() == "0x" else int(p, 8 if p[:1] == "0" else 10)
        for p in (p if p not in ("0x", "0X") else "0" for p in parts)
    ]
    *head, last = nums
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        return None
    value = 0
    for n in head:
        value = value * 256 + n
    return ipaddress.IPv4Address(value * 256 ** (4 - len(head)) + last)


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Every IP a host string denotes literally or embeds."""
    found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    v4 = _loose_ipv4(host)
    if v4 is not None:
        found.append(v4)
    try:
        v6 = ipaddress.IPv6Address(host.split("%", 1)[0])
    except ValueError:
        v6 = None
    if v6 is not None:
        found.append(v6)
        for embedded in (v6.ipv4_mapped, v6.sixtofour):
            if embedded is not None:
                found.append(embedded)
        if v6 in ipaddress.ip_network("64:ff9b::/96"):  # NAT64
            found.append(ipaddress.IPv4Address(int(v6) & 0xFFFFFFFF))
    for m in _EMBEDDED_V4.finditer(host):
        if all(int(g) <= 255 for g in m.groups()):
            found.append(ipaddress.IPv4Address(".".join(m.groups())))
    for m in _EMBEDDED_HEX.finditer(host):
        found.append(ipaddress.IPv4Address(int(m.group(1), 16)))
    return found


def _clean_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def is_metadata_host(host: str) -> bool:
    """True for a cloud instance-metadata endpoint in any spelling."""
    host = _clean_host(host)
    if host in _METADATA_NAMES:
        return True
    return any(
        ip in net for ip in _addresses(host) for net in _METADATA_NETS if ip.version == net.version
    )


def is_loopback_host(host: str) -> bool:
    """True for this machine: localhost names, 127/8, ::1, 0.0.0.0 (any spelling)."""
    host = _clean_host(host)
    if host in _LOOPBACK_NAMES or host.endswith((".localhost", ".lvh.me", ".localtest.me")):
        return True
    return any(ip.is_loopback or ip.is_unspecified for ip in _addresses(host))


def url_host(url: str) -> str | None:
    """The host of a URL; scheme-less forms (``localhost:3000/x``, ``:3000``,
    ``example.org``) are read the way curl and httpie read them."""
    text = url.strip()
    if text.startswith(":"):
        text = "localhost" + text  # httpie shorthand
    if "://" not in text:
        text = "http://" + text
    try:
        host = urlsplit(text).hostname
    except ValueError:
        return None
    return host or None
