"""Gemini request body: harness messages, tools and parameters -> GenerateContentRequest JSON.

Pure helpers of `harness.providers.google_genai.adapter`; see docs/providers/google_genai.md.
"""

from __future__ import annotations

import json
import mimetypes
from typing import Any

from harness.messages.core import AIMessage, BaseMessage, ToolMessage
from harness.providers._common import text_of
from harness.providers.base import ChatRequest, ResponseFormat, data_url_parts, image_source, url_source
from harness.providers.google_genai.builtin import builtin_tool_to_wire, camel, is_builtin_tool

PROVIDER = "google_genai"
# where signatures of parts that are not content blocks live (additional_kwargs keys)
FC_SIGNATURES = "__gemini_function_call_thought_signatures__"  # {tool_call_id: signature}
TEXT_SIGNATURES = "__gemini_text_signatures__"  # [signature] of text parts while content is a plain str
# Google's documented placeholder for a function call without a signature (e.g. history from another
# model); signatures are bytes, so base64 on the wire, as real clients send it
SKIP_SIGNATURE = "c2tpcF90aG91Z2h0X3NpZ25hdHVyZV92YWxpZGF0b3I="  # b"skip_thought_signature_validator"

_GENERATION = {
    "temperature": "temperature",
    "top_p": "topP",
    "top_k": "topK",
    "max_tokens": "maxOutputTokens",
    "max_output_tokens": "maxOutputTokens",
    "n": "candidateCount",
    "candidate_count": "candidateCount",
    "seed": "seed",
    "presence_penalty": "presencePenalty",
    "frequency_penalty": "frequencyPenalty",
    "logprobs": "responseLogprobs",
    "top_logprobs": "logprobs",
    "response_mime_type": "responseMimeType",
    "response_modalities": "responseModalities",
    "media_resolution": "mediaResolution",
}
_THINKING = {
    "thinking_budget": "thinkingBudget",
    "include_thoughts": "includeThoughts",
    "thinking_level": "thinkingLevel",
}
_TOP_LEVEL = {
    "safety_settings": "safetySettings",
    "cached_content": "cachedContent",
    "labels": "labels",
    "service_tier": "serviceTier",
}
_DROP = {"stream_usage"}
# GenerationConfig fields without a rename here (sent camelCased), and what ChatGoogleGenerativeAI names
_OTHER_PARAMS = {
    "stop_sequences", "response_schema", "response_json_schema", "response_logprobs", "speech_config",
    "enable_enhanced_civic_answers", "image_config", "audio_timestamp", "routing_config",
    "model_selection_config", "output_version",
}  # fmt: skip
KNOWN_PARAMS = frozenset({"stop", *_GENERATION, *_THINKING, *_TOP_LEVEL, *_DROP, *_OTHER_PARAMS})
_MEDIA_TYPES = ("image", "audio", "video", "file")
_DEFAULT_MIME = {
    "image": "image/jpeg",
    "audio": "audio/mpeg",
    "video": "video/mp4",
    "file": "application/pdf",
}
# keys that make a dict a native Gemini Part (passed through unchanged)
_PART_KEYS = {
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
    "toolCall",
    "toolResponse",
}


# --- content --------------------------------------------------------------------------------------


def media_part(block: dict[str, Any]) -> dict[str, Any] | None:
    """An image/audio/video/file block (standard v1, v0 or OpenAI form) -> inlineData / fileData part."""
    kind = block.get("type")
    src = image_source(block)
    if src is None:
        if kind == "input_audio" and isinstance(block.get("input_audio"), dict):
            audio = block["input_audio"]
            return {
                "inlineData": {
                    "mimeType": f"audio/{audio.get('format', 'wav')}",
                    "data": audio.get("data", ""),
                }
            }
        if kind == "file" and isinstance(block.get("file"), dict):
            parts = data_url_parts(block["file"].get("file_data") or "")
            if parts:
                return {"inlineData": {"mimeType": parts[0], "data": parts[1]}}
            if block["file"].get("file_id"):
                return {"fileData": {"mimeType": "application/pdf", "fileUri": block["file"]["file_id"]}}
            return None
        if kind not in _MEDIA_TYPES:
            return None
        if block.get("base64") or block.get("source_type") == "base64":
            src = {
                "base64": block.get("base64") or block.get("data", ""),
                "mime_type": block.get("mime_type", ""),
            }
        elif block.get("file_id") or block.get("source_type") == "id":
            src = {"url": block.get("file_id") or block.get("id", "")}
        else:
            src = url_source(block.get("url", ""))
    media = kind if kind in _MEDIA_TYPES else "image"
    if "base64" in src:
        mime = src.get("mime_type") or block.get("mime_type") or _DEFAULT_MIME[media]
        return {"inlineData": {"mimeType": mime, "data": src["base64"]}}
    url = src["url"]
    mime = block.get("mime_type") or mimetypes.guess_type(url.split("?", 1)[0])[0] or _DEFAULT_MIME[media]
    return {"fileData": {"mimeType": mime, "fileUri": url}}


def user_parts(content: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}]
    parts: list[dict[str, Any]] = []
    for block in content:
        if isinstance(block, str):
            parts.append({"text": block})
        elif block.get("type") == "text":
            parts.append({"text": block.get("text", "")})
        elif "type" not in block and set(block) & _PART_KEYS:
            parts.append(block)
        elif (part := media_part(block)) is not None:
            parts.append(part)
        else:
            raise ValueError(
                f"{where}: cannot send a {block.get('type')!r} content block to Gemini; allowed: text, image, "
                "audio, video, file, image_url, input_audio blocks or a native Gemini part"
            )
    return parts


def model_parts(m: AIMessage, sign_calls: bool) -> list[dict[str, Any]]:
    """An AIMessage -> the parts of a `model` Content, with thought signatures where they came from."""
    own = m.response_metadata.get("model_provider") == PROVIDER
    text_sigs = list(m.additional_kwargs.get(TEXT_SIGNATURES) or []) if own else []
    parts: list[dict[str, Any]] = []
    for item in [m.content] if isinstance(m.content, str) else m.content:
        if isinstance(item, str):
            if item or text_sigs:
                part: dict[str, Any] = {"text": item}
                if text_sigs:
                    part["thoughtSignature"] = text_sigs.pop(0)
                parts.append(part)
            continue
        kind = item.get("type")
        if kind == "text":
            part = {"text": item.get("text", "")}
        elif kind == "reasoning" and own:  # thought summaries go back as they came
            part = {"text": item.get("reasoning", ""), "thought": True}
        elif kind == "non_standard" and own and isinstance(item.get("value"), dict):
            parts.append(item["value"])  # e.g. toolCall / executableCode parts, signature included
            continue
        elif (media := media_part(item)) is not None:
            part = media
        else:
            continue  # other providers' blocks (thinking, tool_use ...) have no Gemini form
        sig = (item.get("extras") or {}).get("signature") if own else None
        if sig:
            part["thoughtSignature"] = sig
        parts.append(part)
    sigs = (m.additional_kwargs.get(FC_SIGNATURES) or {}) if own else {}
    calls = []
    for tc in m.tool_calls:
        fc: dict[str, Any] = {"name": tc["name"], "args": tc["args"]}
        if tc.get("id"):
            fc["id"] = tc["id"]
        call: dict[str, Any] = {"functionCall": fc}
        if sigs.get(tc.get("id")):
            call["thoughtSignature"] = sigs[tc["id"]]
        calls.append(call)
    if calls and sign_calls and not any("thoughtSignature" in c for c in calls):
        calls[0]["thoughtSignature"] = SKIP_SIGNATURE
    return parts + calls


def function_response(m: ToolMessage, names: dict[str, str], where: str) -> dict[str, Any]:
    name = names.get(m.tool_call_id) or m.name
    if not name:
        raise ValueError(
            f"{where}: ToolMessage tool_call_id={m.tool_call_id!r} answers no tool call of a preceding AIMessage; "
            "Gemini needs the function name: keep that AIMessage in the history or pass ToolMessage(name=...)"
        )
    text = text_of(m.content)
    media = [
        p
        for b in ([] if isinstance(m.content, str) else m.content)
        if isinstance(b, dict) and (p := media_part(b)) is not None
    ]
    if m.status == "error":
        response: dict[str, Any] = {"error": text}
    else:
        try:
            value: Any = json.loads(text)
        except ValueError:
            value = text
        # the API wants an object: a JSON object is the response itself, anything else goes under "output"
        response = value if isinstance(value, dict) else {"output": value}
    fr: dict[str, Any] = {"name": name, "response": response}
    if m.tool_call_id:
        fr["id"] = m.tool_call_id
    if media:
        fr["parts"] = media
    return {"functionResponse": fr}


def build_contents(messages: list[BaseMessage], sign_calls: bool) -> tuple[list[dict], list[dict]]:
    """-> (systemInstruction parts, contents)."""
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool_call_id -> function name, from the AIMessages seen so far
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        if m.type == "system":
            system.append({"text": text_of(m.content)})
        elif m.type == "human":
            contents.append({"role": "user", "parts": user_parts(m.content, where)})
        elif isinstance(m, AIMessage):
            names.update({tc["id"]: tc["name"] for tc in m.tool_calls if tc.get("id")})
            parts = model_parts(m, sign_calls)
            if parts:  # the API refuses a Content without parts
                contents.append({"role": "model", "parts": parts})
        elif isinstance(m, ToolMessage):
            part = function_response(m, names, where)
            last = contents[-1] if contents else None
            if last and last["role"] == "user" and all("functionResponse" in p for p in last["parts"]):
                last["parts"].append(part)  # answers to one turn's parallel calls share one Content
            else:
                contents.append({"role": "user", "parts": [part]})
        else:
            raise ValueError(
                f"{where}: cannot send a {type(m).__name__} to Gemini; allowed: system, human, ai, "
                "tool messages"
            )
    return system, contents


# --- tools, config ----------------------------------------------------------------------------------


def build_tools(tools: list[dict[str, Any]], dialect: str) -> list[dict[str, Any]]:
    from harness.providers.google_genai.schema import to_openapi_schema

    decls, native = [], []
    for t in tools:
        fn = t.get("function") if t.get("type") == "function" else None
        if is_builtin_tool(t):
            native.append(builtin_tool_to_wire(t))  # {"google_search": {}} -> {"googleSearch": {}}
            continue
        if not isinstance(fn, dict):
            native.append(t)  # another provider-native tool dict, as given
            continue
        decl: dict[str, Any] = {"name": fn["name"]}
        if fn.get("description"):
            decl["description"] = fn["description"]
        if fn.get("parameters"):
            if dialect == "openapi":
                decl["parameters"] = to_openapi_schema(fn["parameters"])
            else:
                decl["parametersJsonSchema"] = fn["parameters"]
        decls.append(decl)
    return ([{"functionDeclarations": decls}] if decls else []) + native


def tool_config(choice: Any) -> dict[str, Any] | None:
    if choice is None:
        return None
    if choice in ("auto", "any", "none"):
        return {"functionCallingConfig": {"mode": choice.upper()}}
    if isinstance(choice, dict):
        if choice.get("type") == "tool" and choice.get("name"):
            return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [choice["name"]]}}
        if isinstance(choice.get("function"), dict) and choice["function"].get("name"):  # OpenAI form
            return {
                "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [choice["function"]["name"]]}
            }
        if "functionCallingConfig" in choice or "retrievalConfig" in choice:
            return choice
        if "mode" in choice:
            return {"functionCallingConfig": choice}
    raise ValueError(
        f"tool_choice {choice!r} has no Gemini form; allowed: 'auto', 'any', 'none', a tool name, "
        "or a toolConfig / functionCallingConfig dict"
    )


def _structured(rf: ResponseFormat, dialect: str) -> dict[str, Any]:
    from harness.providers.google_genai.schema import to_openapi_schema

    out: dict[str, Any] = {"responseMimeType": "application/json"}
    if rf.type == "json_schema" and rf.schema is not None:
        if dialect == "openapi":
            out["responseSchema"] = to_openapi_schema(rf.schema)
        else:
            out["responseJsonSchema"] = rf.schema
    return out


def _deep_merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _deep_merge(into[k], v)
        else:
            into[k] = v


def build_body(request: ChatRequest, *, dialect: str, sign_calls: bool) -> dict[str, Any]:
    system, contents = build_contents(request.messages, sign_calls)
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": system}
    if request.tools:
        body["tools"] = build_tools(request.tools, dialect)
        config = tool_config(request.tool_choice)
        if config:
            body["toolConfig"] = config
    generation: dict[str, Any] = {}
    thinking: dict[str, Any] = {}
    for k, v in request.params.items():
        if k in _DROP:
            continue
        if k == "stop":
            generation["stopSequences"] = [v] if isinstance(v, str) else list(v)
        elif k in _THINKING:
            thinking[_THINKING[k]] = v.upper() if k == "thinking_level" and isinstance(v, str) else v
        elif k == "safety_settings" and isinstance(v, dict):
            body["safetySettings"] = [{"category": c, "threshold": t} for c, t in v.items()]
        elif k in _TOP_LEVEL:
            body[_TOP_LEVEL[k]] = v
        else:  # everything else is a GenerationConfig field (snake_case accepted)
            generation[_GENERATION.get(k, camel(k))] = v
    if thinking:
        generation["thinkingConfig"] = thinking
    if request.response_format is not None:
        generation.update(_structured(request.response_format, dialect))
    if generation:
        body["generationConfig"] = generation
    _deep_merge(body, request.extra_body)
    return body
