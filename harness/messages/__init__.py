"""Messages, content blocks and chunk summation, named and shaped as LangChain v1's.

Owns: `core` (message classes and chunk summation; names everything below too), `tool_calls` (the
tool-call and usage typed dicts, tool calls from raw or streamed fragments), `blocks` (standard
content blocks, the per-provider block translators), `merge` (dict-level chunk merging, usage
arithmetic, partial JSON), `convert` (input coercion, compact dicts), `usage` (the flat usage results
and assertions judge), `display` (pretty_print and prompt strings).
May import: nothing from harness (the base every other part builds on).
"""

from __future__ import annotations

from harness.messages.convert import convert_to_messages, message_to_dict
from harness.messages.core import (
    KNOWN_BLOCK_TYPES,
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    FunctionMessage,
    HumanMessage,
    InputTokenDetails,
    InvalidToolCall,
    OutputTokenDetails,
    RemoveMessage,
    SystemMessage,
    ToolCall,
    ToolCallChunk,
    ToolMessage,
    UsageMetadata,
    add_usage,
    get_block_translator,
    invalid_tool_call,
    merge_content,
    merge_dicts,
    merge_lists,
    message_chunk_to_message,
    parse_partial_json,
    register_block_translator,
    subtract_usage,
    tool_call,
    tool_call_chunk,
)

__all__ = [
    "AIMessage",
    "AIMessageChunk",
    "BaseMessage",
    "FunctionMessage",
    "HumanMessage",
    "InputTokenDetails",
    "InvalidToolCall",
    "KNOWN_BLOCK_TYPES",
    "OutputTokenDetails",
    "RemoveMessage",
    "SystemMessage",
    "ToolCall",
    "ToolCallChunk",
    "ToolMessage",
    "UsageMetadata",
    "add_usage",
    "convert_to_messages",
    "get_block_translator",
    "invalid_tool_call",
    "merge_content",
    "merge_dicts",
    "merge_lists",
    "message_chunk_to_message",
    "message_to_dict",
    "parse_partial_json",
    "register_block_translator",
    "subtract_usage",
    "tool_call",
    "tool_call_chunk",
]
