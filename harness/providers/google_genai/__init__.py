"""Gemini (Google AI and Vertex recordings) adapter: `adapter` (URLs, errors, recorded traffic), `request` (contents,
tools, config), `response` (the one decoder of whole and streamed responses),
`builtin` (built-in tools, grounding citations), `blocks` (`.content_blocks`) and
`schema` (JSON schema to Gemini's OpenAPI subset). Pure: imports `harness.messages`, `harness.providers.base`."""

from __future__ import annotations

from harness.providers.google_genai.adapter import GeminiAdapter

__all__ = ["GeminiAdapter"]
