"""What a team adds to record and replay its app's model calls: one autouse fixture.

The `cassette` fixture (harness's pytest plugin) records every call the openai SDK makes during a
test into cassettes/<module path>/<test>.yaml, then replays it offline: record once with
`--record-mode=once` and the API key, replay in CI with no key and no network.
"""

import pytest


@pytest.fixture(autouse=True)
def _model_calls_from_cassettes(cassette):
    return cassette
