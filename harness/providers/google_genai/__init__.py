"""Gemini (Google AI and Vertex recordings) adapter: `adapter`, `request` (contents, tools, config),
`builtin` (built-in tools, grounding citations), `blocks` (`.content_blocks`) and
`schema` (JSON schema to Gemini's OpenAPI subset). Pure: imports `harness.messages`, `harness.providers.base`."""

from __future__ import annotations

from harness.providers.google_genai.adapter import GeminiAdapter

__all__ = ["GeminiAdapter"]
