"""Only for this example: the providers are played by harness's local emulator, so the cassettes
could be recorded without API keys. In your project, delete this file: models then call the real
providers with OPENAI_API_KEY / ANTHROPIC_API_KEY when recording, and replay needs neither.
"""

import pytest

from harness.chat_models import parse_model_string
from harness.testing import EmulatedRequest, Reply, ToolCallSpec, default_reply


def canned_answers(req: EmulatedRequest) -> Reply:
    """What the stand-in provider says: a few realistic answers, the emulator's defaults otherwise."""
    question = req.last_user_text.lower()
    if req.tools and req.last_message.get("role") == "user" and "weather" in question:
        return Reply(tool_calls=[ToolCallSpec("get_weather", {"location": "Boston"})])
    if "capital of france" in question and req.response_schema is None:
        return Reply(text="The capital of France is Paris.")
    return default_reply(req)


@pytest.fixture
def harness_model_kwargs(harness_emulator):
    """Point every model the fixtures build at the emulator (replay never contacts it)."""
    harness_emulator.reply_fn = canned_answers
    return lambda model: {
        "base_url": harness_emulator.base_url(parse_model_string(model)[1]),
        "api_key": "emulator-key",
    }
