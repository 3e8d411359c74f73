"""Cassettes: record every model call live and timed, replay it strictly offline.

    from harness.cassettes import use_cassette

    with use_cassette("cassettes/capital.yaml"):          # record once, then replay
        model.invoke("Capital of France?")

Modules: `store` (file format, loading every variant, atomic writes), `matching` (request keys,
nearest-miss diffs), `scrub` (secrets), `interceptor` (record/replay), `cassette` (use_cassette),
`inspect` (adapter-parsed views for the CLI).
"""

from __future__ import annotations

from harness.cassettes.cassette import Cassette, use_cassette
from harness.cassettes.interaction import Interaction, RecordedRequest, RecordedResponse
from harness.cassettes.modes import RECORD_MODES, default_record_mode
from harness.cassettes.store import load_cassette

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
