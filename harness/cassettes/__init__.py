"""Cassettes: record every model call live and timed, replay it strictly offline.

    from harness.cassettes import use_cassette, load_cassette
"""

from __future__ import annotations

from harness.cassettes.interaction import Interaction, RecordedRequest, RecordedResponse
from harness.cassettes.store import load_cassette

__all__ = ["Interaction", "RecordedRequest", "RecordedResponse", "load_cassette"]
