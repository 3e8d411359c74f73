"""`--block-network`: a socket guard that refuses every connection but loopback while replaying."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from harness.errors import NetworkBlockedError


class NetworkBlocker:
    """Refuse `socket.connect` to anything but loopback (and Unix sockets): the OS boundary, so every
    client library is covered. Remembers resolved names so the message can say which host it was."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self._saved: tuple[Any, Any, Any] | None = None

    @property
    def installed(self) -> bool:
        return self._saved is not None

    def install(self) -> None:
        if self._saved is not None:
            return
        connect, connect_ex, getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo
        self._saved = (connect, connect_ex, getaddrinfo)
        blocker = self

        def guarded_getaddrinfo(host: Any, port: Any = None, *args: Any, **kwargs: Any) -> Any:
            name = host.decode() if isinstance(host, bytes) else host
            try:
                infos = getaddrinfo(host, port, *args, **kwargs)
            except OSError as e:  # a name that does not resolve is not loopback either
                if not name or is_loopback(name):
                    raise
                raise blocker.refused(f"{name}:{port}", f" (the name did not resolve: {e})") from None
            for info in infos:
                if name and info[4]:
                    blocker.names.setdefault(str(info[4][0]), name)
            return infos

        def guarded_connect(sock: socket.socket, address: Any) -> Any:
            blocker.check(sock, address)
            return connect(sock, address)

        def guarded_connect_ex(sock: socket.socket, address: Any) -> Any:
            blocker.check(sock, address)
            return connect_ex(sock, address)

        socket.socket.connect = guarded_connect  # type: ignore[method-assign, assignment]
        socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign, assignment]
        socket.getaddrinfo = guarded_getaddrinfo

    def uninstall(self) -> None:
        if self._saved is not None:
            socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = self._saved  # type: ignore[method-assign]
            self._saved = None

    def check(self, sock: socket.socket, address: Any) -> None:
        if sock.family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
            return
        host, port = str(address[0]), address[1]
        if is_loopback(host):
            return
        name = self.names.get(host)
        # closed here: the refusal is no OSError, so socket.create_connection would not close it
        sock.close()
        raise self.refused(f"{name}:{port} ({host})" if name and name != host else f"{host}:{port}")

    @staticmethod
    def refused(where: str, why: str = "") -> NetworkBlockedError:
        return NetworkBlockedError(
            f"--block-network: a connection to {where} was refused{why}; only loopback is allowed. A test "
            "that replays its cassette never opens a socket: record the missing cassette first "
            "(--record-mode=once, with the API key set), or run without --block-network."
        )


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)
