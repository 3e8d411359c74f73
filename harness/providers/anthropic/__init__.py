"""Anthropic Messages API adapter: `adapter` (request, response, errors, server tools), `stream` (the
SSE decoder), `format` (message and content translation) and `blocks` (`.content_blocks`).
Pure: imports `harness.messages`, `harness.providers.base`."""

from __future__ import annotations

from harness.providers.anthropic.adapter import AnthropicAdapter

__all__ = ["AnthropicAdapter"]
