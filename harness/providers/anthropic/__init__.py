"""Anthropic Messages API adapter: `adapter` (request, response, stream decoder, errors) and `format`
(message and content-block translation). Pure: imports `harness.messages`, `harness.providers.base`."""

from __future__ import annotations

from harness.providers.anthropic.adapter import AnthropicAdapter

__all__ = ["AnthropicAdapter"]
