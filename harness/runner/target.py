"""Suite targets: the user's app as the thing under test (docs/targets.md).

A case (or the suite) names a function, `target: "pkg.module:function"` or `"path/to/file.py:function"`.
Each cell calls it once with a `TargetInput`, under the cell's cassette, so every model call it makes
through any client on harness's HTTP path is recorded and replayed; the runner then reads the cell's
model calls from that traffic (`harness.cassettes.inspect.traffic_calls`). The function may be sync
(run in a worker thread, so a blocking client does not stall the other cells) or async, and returns
a string, a harness or LangChain message, or a dict with `output` (and optional `metadata`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import json
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.assertions.registry import AssertionContext
from harness.errors import ConfigurationError, TargetError
from harness.imports import import_object
from harness.langchain.wrapped import LangChainChatModel
from harness.messages.convert import convert_to_messages
from harness.messages.core import AIMessage, BaseMessage
from harness.models.chat import ChatModel
from harness.providers.foreign import foreign_message
from harness.redaction import environment_secrets, mask_data, mask_text, redact_params
from harness.results.build import CallFigures, tool_trajectory
from harness.results.record import ModelCall


@dataclass
class TargetInput:
    """What a target function gets for one cell (case x model x repeat).

    `prompt`: the case's rendered prompt (None when it gives `messages` or nothing); `messages`: the
    rendered input as harness messages (system message included); `vars`: the cell's variables;
    `case_id`; `model`: a harness chat model built from the cell's model entry (its calls are
    recorded like any other; for a `langchain:` entry, the run's LangChain-backed model);
    `model_string`: that entry's model string ("openai:gpt-4.1-mini"); `model_id`: its display id;
    `repeat`: the repeat number (0-based).
    """

    prompt: str | None
    messages: list[BaseMessage]
    vars: dict[str, Any]
    case_id: str
    model: ChatModel | LangChainChatModel
    model_string: str
    model_id: str = ""
    repeat: int = 0


@dataclass
class TargetOutput:
    """A target's return value read as a reply: the final message, structured data, metadata."""

    final: AIMessage
    structured: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class TargetRun:
    """What one run of a target gave (the pytest helper `harness_target`): `output` (the final message),
    `text`, `structured`, `metadata`, and `calls`, the model calls it made, read from the test's
    cassette traffic; `usage`, `cost_usd`, `timing` and `tool_trajectory` add them up. `assert_passes`
    and the other helpers judge the whole run (`tool_called` sees every call's tool calls)."""

    output: AIMessage
    calls: list[ModelCall]
    structured: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return str(self.output.text)

    @property
    def figures(self) -> CallFigures:
        return CallFigures.of_calls(self.calls)

    @property
    def usage(self) -> dict[str, Any]:
        return dict(self.figures.usage)

    @property
    def cost_usd(self) -> float | None:
        return self.figures.cost_usd

    @property
    def timing(self) -> dict[str, Any]:
        return dict(self.figures.timing)

    @property
    def tool_trajectory(self) -> list[dict[str, Any]]:
        return tool_trajectory(self.calls, [])

    def context(self, *, model: str = "", case_id: str = "") -> AssertionContext:
        """The assertion context of the whole run: output, every tool call, summed usage and cost."""
        ctx = AssertionContext.from_message(
            self.output,
            structured=self.structured,
            usage=self.usage if any(c["usage"] for c in self.calls) else {},
            cost_usd=self.cost_usd,
            timing=self.timing,
            case_id=case_id,
            model=model,
        )
        ctx.tool_calls = [
            {"name": c.get("name"), "args": c.get("args") or {}, "id": c.get("id")}
            for c in self.tool_trajectory
        ]
        return ctx


def load_target(path: str, base_dir: Path | None) -> Callable[..., Any]:
    """The target function a suite names (ImportPathError / ConfigurationError: one line)."""
    fn = import_object(path, "`target`", base_dir=base_dir)
    if not callable(fn) or isinstance(fn, type):
        raise ConfigurationError(
            f"`target` {path!r} is not a function (it is {type(fn).__name__}); name a function that takes "
            "one TargetInput"
        )
    return fn  # type: ignore[no-any-return]


async def call_target(fn: Callable[..., Any], inp: TargetInput) -> TargetOutput:
    """Call the target (an async function awaited, a sync one in a worker thread that sees this task's
    cassette) and read what it returned. Whatever it raises becomes a TargetError with its traceback."""
    try:
        if inspect.iscoroutinefunction(fn):
            result = await fn(inp)
        else:
            result = await asyncio.to_thread(fn, inp)
            if inspect.isawaitable(result):  # a sync callable that returned a coroutine
                result = await result
    except Exception as e:
        raise TargetError(mask_text(_traceback_text(e), _secrets(inp))) from None
    out = read_output(result)
    if out.metadata:  # debug info an app returns may hold its request's headers or key
        out.metadata = mask_data(redact_params(out.metadata), _secrets(inp))  # type: ignore[assignment]
    return out


def _secrets(inp: TargetInput) -> set[str]:
    """What the target's traceback must not show: credential variables of the environment (`.env`
    included) and the keys of the cell's model; `mask_text` adds any text shaped like a provider key."""
    adapter = getattr(inp.model, "adapter", None)
    return environment_secrets() | set(adapter.secrets() if adapter is not None else ())


def read_output(result: Any) -> TargetOutput:
    """A target's return value: str, a harness / LangChain / SDK message, or {"output", "metadata"}."""
    metadata: dict[str, Any] = {}
    if result is None:  # a forgotten `return` must not pass as the output "null"
        raise TargetError(
            "the target returned None (no `return`?); return a string, a message, or "
            "{'output': ..., 'metadata': {...}}"
        )
    if isinstance(result, dict):
        if "output" not in result:
            raise TargetError(
                f"the target returned a dict without 'output' (keys: {', '.join(map(str, result)) or 'none'}); "
                "return a string, a message, or {'output': ..., 'metadata': {...}}"
            )
        meta = result.get("metadata")
        metadata = _jsonable(meta) if isinstance(meta, dict) else {}
        result = result["output"]
    if isinstance(result, str):
        return TargetOutput(AIMessage(content=result), metadata=metadata)
    message = result if isinstance(result, BaseMessage) else foreign_message(result)
    if isinstance(message, BaseMessage):
        final = message if isinstance(message, AIMessage) else AIMessage(content=message.content)
        return TargetOutput(final, metadata=metadata)
    if isinstance(result, (dict, list, int, float, bool)) or result is None:  # None: {"output": None}
        data = _jsonable(result)
        return TargetOutput(AIMessage(content=json.dumps(data, ensure_ascii=False)), data, metadata)
    if hasattr(result, "model_dump"):
        data = result.model_dump(mode="json")
        return TargetOutput(AIMessage(content=json.dumps(data, ensure_ascii=False)), data, metadata)
    raise TargetError(
        f"the target returned {type(result).__name__}; return a string, a message, or "
        "{'output': ..., 'metadata': {...}}"
    )


def target_input(
    prompt: str | None,
    messages: list[dict[str, Any]],
    vars: dict[str, Any],
    case_id: str,
    model: ChatModel | LangChainChatModel,
    model_string: str,
    model_id: str,
    repeat: int,
) -> TargetInput:
    return TargetInput(
        prompt=prompt,
        messages=convert_to_messages(messages),
        vars=dict(vars),
        case_id=case_id,
        model=model,
        model_string=model_string,
        model_id=model_id,
        repeat=repeat,
    )


_CALLING_MACHINERY = (os.path.dirname(asyncio.__file__), os.path.dirname(concurrent.futures.__file__))


def _jsonable(value: Any) -> Any:
    """The user's data as the record can hold it: JSON (anything else as its str)."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def _traceback_text(e: BaseException) -> str:
    """The exception first (the console and the matrix show a first line), then the traceback of the
    user's code (this module's own frame left out)."""
    frames = list(traceback.extract_tb(e.__traceback__))
    while frames and (frames[0].filename == __file__ or frames[0].filename.startswith(_CALLING_MACHINERY)):
        frames.pop(0)  # how the function was called (this module, the worker thread), not the user's code
    frames = traceback.StackSummary.from_list(frames)
    exception = "".join(traceback.format_exception_only(type(e), e)).rstrip()
    lines = [exception, "\n\nTraceback (most recent call last):\n", *frames.format(), exception]
    return "".join(lines).rstrip()[:8000]
