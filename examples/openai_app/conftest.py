"""Only for this example: the provider is played by harness's local emulator, so the cassettes could be
recorded without an API key. In your project, delete this file: recording then calls the real API with
OPENAI_API_KEY, and replay needs no real key (the openai SDK still wants one set: use any placeholder).
"""

import pytest

from harness.testing import EmulatedRequest, Reply, ToolCallSpec, default_reply


def canned_answers(req: EmulatedRequest) -> Reply:
    question = req.last_user_text.lower()
    if req.tools and req.last_message.get("role") == "user":
        return Reply(tool_calls=[ToolCallSpec("order_status", {"order_id": "A-1042"})])
    if req.last_message.get("role") == "tool":
        return Reply(text="Your order A-1042 left the warehouse yesterday.")
    if req.response_schema is not None:
        return Reply(text='{"category": "billing", "urgent": true}')
    if "refund" in question:
        return Reply(text="Refunds reach your card within 5 business days.")
    return default_reply(req)


@pytest.fixture(autouse=True)
def _emulated_provider(harness_emulator, monkeypatch):
    import app

    harness_emulator.reply_fn = canned_answers
    monkeypatch.setenv("OPENAI_BASE_URL", harness_emulator.base_url("openai"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-emulator-key-0123456789")
    monkeypatch.setattr(app, "_client", None)  # the app's client is made afresh from the settings above
    yield
    if app._client is not None:
        app._client.close()
