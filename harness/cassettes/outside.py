"""Traffic that passes outside the cassette: warn once per host when a provider is reached by a client
harness cannot patch (`requests`, `urllib3`, `urllib`, ...) while a cassette is active, or
by a patched client from a thread that does not see the cassette (`without_cassette`).

The hook is a `sys.addaudithook` on the `socket.getaddrinfo` event: every client that resolves a name
through the standard library raises it, in whatever thread does the lookup (asyncio runs lookups in an
executor thread, where no context variable of the caller is visible). The patched httpx / httpx2
transports and aiohttp sessions mark the host they are about to connect to (`expected`), in any
context; a lookup of a known provider host that no patched client is connecting to is outside. Audit hooks cannot be removed, so
it is added once, on the first cassette, and does nothing (one comparison) while no cassette is active.

Limits, said in docs/cassettes.md: a client behind a proxy resolves the proxy's name, not the provider's;
a resolver that bypasses `socket.getaddrinfo` (aiodns) is not seen; a connection already pooled before
the cassette is not resolved again.
"""

from __future__ import annotations

import collections
import contextlib
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any

from harness.errors import UnrecordedTrafficWarning

# the public endpoints of the built-in providers' APIs: hosts, and (prefix, suffix) families
KNOWN_HOSTS = frozenset(
    {
        "api.openai.com",
        "api.anthropic.com",
        "generativelanguage.googleapis.com",
        "aiplatform.googleapis.com",
        "api.mistral.ai",
        "api.groq.com",
        "api.deepseek.com",
        "api.x.ai",
        "api.together.xyz",
        "api.fireworks.ai",
        "openrouter.ai",
        "api.cohere.com",
    }
)
KNOWN_FAMILIES = (
    ("", ".openai.azure.com"),
    ("", "-aiplatform.googleapis.com"),
    ("bedrock-runtime.", ".amazonaws.com"),
)

_lock = threading.Lock()
_armed = False
_hooked = False
_expected: collections.Counter[str] = collections.Counter()
_warned: set[str] = set()


def is_provider_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host in KNOWN_HOSTS or any(host.startswith(p) and host.endswith(s) for p, s in KNOWN_FAMILIES)


def arm(on: bool) -> None:
    """Called by `clients` when the first cassette enters (True) and the last one leaves (False)."""
    global _armed, _hooked
    with _lock:
        _armed = on
        if on and not _hooked:
            sys.addaudithook(_audit)
            _hooked = True


@contextlib.contextmanager
def expected(host: str) -> Iterator[None]:
    """A patched transport is connecting to `host`: its lookup is not outside the cassette."""
    host = host.lower()
    with _lock:
        _expected[host] += 1
    try:
        yield
    finally:
        with _lock:
            _expected[host] -= 1
            if not _expected[host]:
                del _expected[host]


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event != "socket.getaddrinfo" or not _armed:
        return
    host = args[0]
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str) or not is_provider_host(host):
        return
    _warn_once(
        host.lower().rstrip("."),
        "through a client harness does not patch (only httpx, httpx2 and aiohttp clients are recorded)",
        check_expected=True,
    )


def without_cassette(host: str) -> None:
    """A patched transport sends a request from a context that sees no cassette, while one is active
    elsewhere in the process: typically a thread started inside the block, which does not inherit it."""
    if _armed and is_provider_host(host):
        _warn_once(
            host.lower().rstrip("."),
            "from a thread or task that does not see the cassette (a thread you start does not inherit "
            "it: run its function with contextvars.copy_context().run)",
        )


def _warn_once(host: str, how: str, *, check_expected: bool = False) -> None:
    with _lock:
        if host in _warned or (check_expected and _expected[host]):
            return
        _warned.add(host)
    warnings.warn(
        f"harness: a request to {host} went out while a cassette was active, {how}: it was neither "
        'recorded nor replayed. See docs/cassettes.md "Traffic the cassette cannot see".',
        UnrecordedTrafficWarning,
        stacklevel=3,
    )
