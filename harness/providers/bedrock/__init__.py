"""Amazon Bedrock adapters: `converse` (the Converse API), `request` / `response` (its translation),
`sigv4` (request signing, pure given credentials) and `eventstream` (the AWS event-stream framing).
Pure: credentials are handed in, never looked up here."""

from __future__ import annotations

from harness.providers.bedrock.converse import BedrockConverseAdapter

__all__ = ["BedrockConverseAdapter"]
