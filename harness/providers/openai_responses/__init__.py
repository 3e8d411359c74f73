"""OpenAI Responses API adapter: `adapter`, `input` (messages to input items), `items` (output items to
content blocks) and `stream` (the event-stream decoder). Pure: imports `harness.messages`,
`harness.providers.base`."""

from __future__ import annotations

from harness.providers.openai_responses.adapter import OpenAIResponsesAdapter

__all__ = ["OpenAIResponsesAdapter"]
