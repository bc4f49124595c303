"""A guard for tests that aim names at addresses: no connection leaves for a non-loopback host."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest


@contextlib.contextmanager
def tripwire(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every connection attempt to a non-loopback address, refused before a packet leaves;
    the block fails if there was any."""
    attempts: list[str] = []
    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> None:
        if isinstance(address, tuple) and not _loopback(str(address[0])):
            attempts.append(str(address[0]))
            raise ConnectionRefusedError("tripwire: the test refused a non-loopback connection")
        real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    yield attempts
    assert attempts == [], f"connections were attempted to {attempts}"


def _loopback(host: str) -> bool:
    address = ipaddress.ip_address(host.split("%")[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback
