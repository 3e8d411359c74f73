"""One cell of a run (case × model × repeat): the model calls, the tool loop, structured output.

`execute_cell` returns an `Exchange` (the transcript and final message); the runner turns it into a
results record (`harness.results.build`). Everything built from the suite (tool dicts, callables,
schemas, bound models) is cached so a replay of thousands of cells does no repeated work.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from harness.errors import ConfigurationError
from harness.imports import import_object
from harness.langchain.wrapped import LangChainChatModel
from harness.messages.convert import convert_to_messages
from harness.messages.core import AIMessage, BaseMessage, ToolMessage
from harness.models.binding import ChatModelBinding
from harness.models.chat import ChatModel
from harness.models.retry import RetryPolicy
from harness.rate_limiters import AdaptiveLimiter
from harness.redaction import environment_secrets, param_secrets
from harness.results.record import ModelCall
from harness.runnables import Runnable
from harness.suite.spec import ExpandedCase, ModelEntry, StructuredOutputSpec, ToolSpec
from harness.suite.templates import render
from harness.tools.tool import BaseTool, convert_to_openai_tool, tool

T = TypeVar("T")


@dataclass
class ResolvedModel:
    """A suite model entry with its chat model built once for the whole run (a `langchain:` entry's
    is a LangChainChatModel)."""

    entry: ModelEntry
    chat: ChatModel | LangChainChatModel
    limiter: AdaptiveLimiter | None = None

    @functools.cached_property
    def id(self) -> str:  # read for every cell (its key, its cassette path, its record)
        return self.entry.display_id

    @property
    def model(self) -> str:
        return self.entry.model

    @property
    def provider(self) -> str:
        return self.chat.model_provider

    @property
    def name(self) -> str:
        return self.chat.model

    def secrets(self) -> set[str]:
        """What a cell error must not show: the entry's credential parameters and headers, the adapter's
        keys, and the environment's credential variables (`.env` included)."""
        adapter = getattr(self.chat, "adapter", None)
        own = param_secrets(self.entry.model_dump(exclude_none=True))
        return own | environment_secrets() | set(adapter.secrets() if adapter is not None else ())


@dataclass
class Exchange:
    input: list[BaseMessage]
    transcript: list[BaseMessage] = field(default_factory=list)
    final: AIMessage | None = None
    structured: Any = None  # the parsed structured output, as JSON data (the user's schema's shape)
    parse_error: str | None = None
    calls: list[ModelCall] | None = None  # a target cell: its model calls, read from its traffic
    metadata: dict[str, Any] | None = None  # a target's `metadata`

    @property
    def ai_messages(self) -> list[AIMessage]:
        return [m for m in self.transcript if isinstance(m, AIMessage)]


class ToolRuntime:
    """A suite tool: its OpenAI tool dict for bind_tools and how to run a call of it."""

    def __init__(self, spec: ToolSpec, base_dir: Path | None) -> None:
        self.spec = spec
        self.tool: BaseTool | None = None
        if spec.function is not None:
            obj = import_object(spec.function, f"tool {spec.name!r} `function`", base_dir=base_dir)
            if not isinstance(obj, BaseTool):
                if not callable(obj):
                    raise ConfigurationError(
                        f"tool {spec.name!r}: `function` {spec.function!r} is not a function "
                        f"(it is {type(obj).__name__})"
                    )
                try:
                    obj = tool(
                        spec.name,
                        obj,
                        description=spec.description
                        or (obj.__doc__ or "").strip()
                        or f"Calls {spec.function}",
                    )
                except (TypeError, ValueError) as e:
                    raise ConfigurationError(f"tool {spec.name!r} ({spec.function}): {e}") from None
            self.tool = obj
        self.openai = self._openai_dict()

    def _openai_dict(self) -> dict[str, Any]:
        if self.spec.parameters is None and self.tool is not None:
            fn = dict(convert_to_openai_tool(self.tool)["function"])
            fn["name"] = self.spec.name
            if self.spec.description:
                fn["description"] = self.spec.description
            return {"type": "function", "function": fn}
        fn = {
            "name": self.spec.name,
            "parameters": self.spec.parameters or {"type": "object", "properties": {}},
        }
        if self.spec.description:
            fn["description"] = self.spec.description
        return {"type": "function", "function": fn}

    async def run(self, call: dict[str, Any]) -> ToolMessage:
        args = call.get("args") or {}
        cid = call.get("id") or ""
        if self.tool is not None:
            result = await self.tool.ainvoke({**call, "type": "tool_call", "name": self.tool.name})
            if isinstance(result, ToolMessage):
                result.name = self.spec.name
                result.tool_call_id = cid
                return result
            return ToolMessage(content=_as_text(result), tool_call_id=cid, name=self.spec.name)
        try:
            returns = self.spec.returns
            content = render(returns, args) if isinstance(returns, str) else _as_text(returns)
            return ToolMessage(content=content, tool_call_id=cid, name=self.spec.name)
        except Exception as e:  # a template that needs an argument the model did not send
            return ToolMessage(
                content=f"Error: {type(e).__name__}: {e}",
                tool_call_id=cid,
                name=self.spec.name,
                status="error",
            )


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def structured_schema(spec: StructuredOutputSpec, base_dir: Path | None) -> object:
    """What `with_structured_output` gets: the suite's JSON schema, titled, or the object its import path
    names (a pydantic model, a TypedDict, a schema dict: binding the model checks which)."""
    schema = spec.schema_
    if isinstance(schema, str):
        return import_object(schema, "structured_output `schema`", base_dir=base_dir)
    title = spec.name or schema.get("title") or "output"
    return {**schema, "title": title}


class CaseRuntime:
    """Per-run caches of what each case needs: tool runtimes and bound runnables per model."""

    def __init__(self, base_dir: Path | None) -> None:
        self.base_dir = base_dir  # the suite's folder: where `path/to/file.py:name` imports start
        self._tools: dict[int, list[ToolRuntime]] = {}
        self._bound: dict[tuple[int, str], Runnable] = {}
        self._targets: dict[str, Callable[..., Any]] = {}

    def target(self, path: str) -> Callable[..., Any]:
        """The target function `path` names, imported once (ImportPathError / ConfigurationError)."""
        fn = self._targets.get(path)
        if fn is None:
            from harness.runner.target import load_target

            fn = self._targets[path] = load_target(path, self.base_dir)
        return fn

    def tools(self, ec: ExpandedCase) -> list[ToolRuntime]:
        key = id(ec.case)
        if key not in self._tools:
            self._tools[key] = [ToolRuntime(t, self.base_dir) for t in ec.case.tools]
        return self._tools[key]

    def runnable(self, ec: ExpandedCase, model: ResolvedModel) -> Runnable:
        key = (id(ec.case), model.id)
        bound = self._bound.get(key)
        if bound is None:
            bound = self._bind(ec, model.chat)
            self._bound[key] = bound
        return bound

    def _bind(self, ec: ExpandedCase, chat: ChatModel | LangChainChatModel) -> Runnable:
        """The model with the case's params, and its tools or structured output, bound."""
        case = ec.case
        bound: ChatModel | LangChainChatModel | ChatModelBinding = (
            chat.bind(**case.params) if case.params else chat
        )
        if case.tools:
            return bound.bind_tools([t.openai for t in self.tools(ec)], tool_choice=case.tool_choice)
        so = case.structured_output
        if so is not None:
            return bound.with_structured_output(
                structured_schema(so, self.base_dir), method=so.method, include_raw=True, strict=so.strict
            )
        return bound


async def _call(runnable: Runnable, messages: list[BaseMessage], stream: bool) -> object:
    if not stream:
        return await runnable.ainvoke(messages)
    from harness.messages.core import AIMessageChunk, message_chunk_to_message
    from harness.models.chat import sum_chunks

    items = [c async for c in runnable.astream(messages)]
    if items and isinstance(items[0], AIMessageChunk):
        return message_chunk_to_message(sum_chunks(items))
    return items[-1] if items else None  # structured output streams one result


async def call_with_retries(
    fn: Callable[[], Awaitable[T]], limiter: AdaptiveLimiter | None, policy: RetryPolicy
) -> T:
    """One model call under its provider's limiter, retried by `policy`; a live 429 pauses the provider."""
    if limiter is None:
        return await policy.acall(fn)

    async def attempt() -> T:
        async with limiter.slot():
            return await fn()

    return await policy.acall(attempt, on_rate_limit=limiter.on_rate_limit)


class JudgeCalls:
    """A cell's judges, as `llm_judge` calls them: the suite's (`ainvoke`) or an assertion's own
    (`for_model(model)`). Each call goes through the run's retry policy and the judge provider's
    adaptive limiter, like a model call; the replies are kept with their judge, so the record counts
    the judges' tokens and cost apart from the model's (`judge_usage`, `judge_cost_usd`)."""

    def __init__(self, judges: dict[str | None, ResolvedModel], policy: RetryPolicy) -> None:
        self.judges = judges
        self.policy = policy
        self.replies: list[tuple[ResolvedModel, AIMessage]] = []

    def for_model(self, model: str | None) -> _JudgeCaller:
        judge = self.judges.get(model) or self.judges[None]
        return _JudgeCaller(self, judge)

    @property
    def model(self) -> str:
        return self.judges[None].model

    async def ainvoke(self, messages: list[BaseMessage]) -> AIMessage:
        return await self.for_model(None).ainvoke(messages)


@dataclass
class _JudgeCaller:
    calls: JudgeCalls
    judge: ResolvedModel

    @property
    def model(self) -> str:
        return self.judge.model

    async def ainvoke(self, messages: list[BaseMessage]) -> AIMessage:
        chat, policy = self.judge.chat, self.calls.policy
        reply = await call_with_retries(lambda: chat.ainvoke(messages), self.judge.limiter, policy)
        self.calls.replies.append((self.judge, reply))
        return reply


async def execute_cell(
    ec: ExpandedCase, model: ResolvedModel, runtime: CaseRuntime, policy: RetryPolicy
) -> Exchange:
    case = ec.case
    runnable = runtime.runnable(ec, model)
    messages = convert_to_messages(ec.messages())
    ex = Exchange(input=list(messages), transcript=list(messages))
    tools = {t.spec.name: t for t in runtime.tools(ec)} if case.tools else {}
    for _turn in range(case.max_turns):
        history = list(ex.transcript)
        result = await call_with_retries(
            functools.partial(_call, runnable, history, case.stream), model.limiter, policy
        )
        ai = _reply(result, ex)
        ex.transcript.append(ai)
        ex.final = ai
        if not (tools and case.tool_loop and ai.tool_calls):
            break
        replies = await asyncio.gather(*(_run_tool(tools, call) for call in ai.tool_calls))
        ex.transcript.extend(replies)
    return ex


def _reply(result: object, ex: Exchange) -> AIMessage:
    """The model's message from one call's result; structured output also fills `ex.structured`."""
    if isinstance(result, dict) and "raw" in result:  # structured output, include_raw=True
        ex.structured = _plain(result.get("parsed"))
        err = result.get("parsing_error")
        ex.parse_error = f"{type(err).__name__}: {err}" if err is not None else None
        result = result["raw"]
    # a ChatModel, its bindings and StructuredOutputRunnable's `raw` are always one AIMessage
    return cast(AIMessage, result)


async def _run_tool(tools: dict[str, ToolRuntime], call: dict[str, Any]) -> ToolMessage:
    rt = tools.get(call.get("name") or "")
    if rt is None:
        return ToolMessage(
            content=f"Error: unknown tool {call.get('name')!r}; available: {', '.join(tools)}",
            tool_call_id=call.get("id") or "",
            name=call.get("name"),
            status="error",
        )
    return await rt.run(call)


def _plain(value: Any) -> Any:
    """Structured output as JSON-able data (pydantic instances dumped)."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return value
