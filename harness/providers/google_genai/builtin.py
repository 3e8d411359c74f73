"""Gemini's built-in (server-side) tools and grounding: what `bind_tools` passes through, how it goes
on the wire, and grounding metadata as standard citations.

`bind_tools([{"google_search": {}}, {"code_execution": {}}, {"url_context": {}}])` sends each as a
Gemini `Tool` (`{"googleSearch": {}}` ...): keys may be written snake_case, as LangChain users do, or
camelCase, as the REST API spells them; nested config keys are camel-cased too.
"""

from __future__ import annotations

from typing import Any

# the Tool fields of GenerateContentRequest.tools other than functionDeclarations (snake_case)
BUILTIN_TOOLS = frozenset(
    {
        "google_search",
        "google_search_retrieval",
        "code_execution",
        "url_context",
        "file_search",
        "google_maps",
        "computer_use",
        "enterprise_web_search",
        "retrieval",
    }
)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


def is_builtin_tool(tool: Any) -> bool:
    """A dict whose keys are all Gemini built-in tool names (either spelling)."""
    return isinstance(tool, dict) and bool(tool) and all(snake(str(k)) in BUILTIN_TOOLS for k in tool)


def _camel_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {camel(str(k)): _camel_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel_keys(v) for v in value]
    return value


def builtin_tool_to_wire(tool: dict[str, Any]) -> dict[str, Any]:
    return _camel_keys(tool)  # type: ignore[no-any-return]


def _get(d: dict[str, Any], camel_name: str) -> Any:
    """A grounding field under its REST (camelCase) or SDK (snake_case) name."""
    return d.get(camel_name, d.get(snake(camel_name)))


def grounding_citations(meta: Any) -> list[dict[str, Any]]:
    """groundingMetadata -> standard `citation` blocks, one per (support, chunk) pair, as
    langchain-core's `translate_grounding_metadata_to_citations` makes them."""
    if not isinstance(meta, dict):
        return []
    chunks = _get(meta, "groundingChunks") or []
    queries = _get(meta, "webSearchQueries") or []
    out: list[dict[str, Any]] = []
    for support in _get(meta, "groundingSupports") or []:
        segment = support.get("segment") or {}
        for i in _get(support, "groundingChunkIndices") or []:
            if not (isinstance(i, int) and 0 <= i < len(chunks)):
                continue
            web, maps = chunks[i].get("web") or {}, chunks[i].get("maps") or {}
            extras: dict[str, Any] = {
                "web_search_queries": queries,
                "grounding_chunk_index": i,
                "confidence_scores": _get(support, "confidenceScores") or [],
            }
            if maps.get("placeId"):
                extras["place_id"] = maps["placeId"]
            citation = {
                "type": "citation",
                "url": maps.get("uri") or web.get("uri"),
                "title": maps.get("title") or web.get("title"),
                "start_index": _get(segment, "startIndex"),
                "end_index": _get(segment, "endIndex"),
                "cited_text": segment.get("text"),
                "extras": {"google_ai_metadata": extras},
            }
            out.append({k: v for k, v in citation.items() if v is not None})
    return out
