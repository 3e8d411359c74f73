"""Amazon Bedrock adapters: `converse` (the Converse API), `invoke` (InvokeModel with the Anthropic and
Amazon Nova payloads), `request` / `response` (its translation),
`sigv4` (request signing, pure given credentials) and `eventstream` (the AWS event-stream framing).
Pure: credentials are handed in, never looked up here."""

from __future__ import annotations

from harness.providers.bedrock.converse import BedrockConverseAdapter
from harness.providers.bedrock.invoke import BedrockInvokeAdapter

__all__ = ["BedrockConverseAdapter", "BedrockInvokeAdapter"]
