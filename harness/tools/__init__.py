"""Tools and schemas: `@tool`, schema conversion (`convert_to_openai_tool`), structured-output parsers.

Owns: `tool` (`@tool`, `StructuredTool`; names the rest too), `base` (`BaseTool`: schema, input
validation, the ToolMessage of a call), `schema` (tool-like objects to OpenAI functions and JSON
schema), `signatures` (functions with their docstrings, and TypedDicts, as pydantic models),
`output_parsers` (parsers behind `with_structured_output`).
May import: `harness.errors`, `harness.messages`, `harness.runnables`.
"""

from __future__ import annotations

from harness.tools.tool import (
    BaseTool,
    StructuredTool,
    ToolCall,
    convert_to_json_schema,
    convert_to_openai_function,
    convert_to_openai_tool,
    create_schema_from_function,
    tool,
)

__all__ = [
    "BaseTool",
    "StructuredTool",
    "ToolCall",
    "convert_to_json_schema",
    "convert_to_openai_function",
    "convert_to_openai_tool",
    "create_schema_from_function",
    "tool",
]
