"""Cassettes: record every model call live and timed, replay it strictly offline.

    from harness.cassettes import use_cassette

    with use_cassette("cassettes/capital.yaml"):          # record once, then replay
        model.invoke("Capital of France?")

Modules: `store` (file format, loading every variant, atomic writes), `replies` (the reply half of a
fragment read without YAML where that is safe), `matching` (request keys,
nearest-miss diffs), `scrub` (secrets), `interceptor` (record/replay), `writer` (serialising and committing a session's
recordings off the caller's thread), `misses` (the miss report), `cassette` (use_cassette),
`inspect` (adapter-parsed views for the CLI), `modes` (RECORD_MODES, the one list of record modes),
`clients` (any httpx / httpx2 client through the active cassette: class-level transport patches),
`aio` (any aiohttp session, the same way: a client middleware added by a class-level patch),
`outside` (a warning for provider traffic through clients the cassette cannot see), `verify` (the
checks of `harness cassettes verify`), `interaction` / `formats` / `streams` (an interaction, the file
formats' variants, recorded streams).

The names below are imported on first use, so the pytest plugin and the CLI can read `modes` without
loading the record/replay machinery.

May import: `harness.errors`, `harness.files`, `harness.http`, `harness.messages`, `harness.providers`,
`harness.request_order`,
`harness.redaction`.

Never `harness.models`: the chat layer names a request's adapter in its extensions.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from harness.cassettes.modes import RECORD_MODES, default_record_mode

if TYPE_CHECKING:
    from harness.cassettes.cassette import Cassette, use_cassette
    from harness.cassettes.interaction import Interaction, RecordedRequest, RecordedResponse
    from harness.cassettes.store import load_cassette

_LAZY = {
    "Cassette": "harness.cassettes.cassette",
    "use_cassette": "harness.cassettes.cassette",
    "Interaction": "harness.cassettes.interaction",
    "RecordedRequest": "harness.cassettes.interaction",
    "RecordedResponse": "harness.cassettes.interaction",
    "load_cassette": "harness.cassettes.store",
}

__all__ = [
    "RECORD_MODES",
    "Cassette",
    "Interaction",
    "RecordedRequest",
    "RecordedResponse",
    "default_record_mode",
    "load_cassette",
    "use_cassette",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'harness.cassettes' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is a plain attribute (the pytest fixture asks per test)
    return value
