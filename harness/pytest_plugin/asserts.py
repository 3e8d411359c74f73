"""Assertion helpers for model tests: the suite's assertions as functions whose failure shows the reply.

from harness.pytest_plugin import assert_contains, assert_tool_called, assert_matches_schema, assert_passes
"""

from __future__ import annotations

import json
from typing import Any

from harness.errors import UnsupportedReplyError
from harness.messages.core import AIMessage, BaseMessage
from harness.providers.foreign import ACCEPTED_REPLIES, foreign_message
from harness.pytest_plugin.support import _current
from harness.results.build import costs, timing_of, usage_of


def _as_message(obj: Any) -> BaseMessage | None:
    """A harness message, or another library's (LangChain, openai, anthropic) converted; None otherwise."""
    return obj if isinstance(obj, BaseMessage) else foreign_message(obj)


def _context(reply: Any) -> Any:
    """An AssertionContext for what a test holds: an AIMessage (harness, LangChain, openai
    ChatCompletion / Response, anthropic Message), a transcript (list of messages), text, parsed
    structured output (dict, list, pydantic instance), or with_structured_output(include_raw=True)'s dict."""
    from pydantic import BaseModel

    from harness.assertions.registry import AssertionContext
    from harness.runner.target import TargetRun

    if isinstance(reply, TargetRun):  # a target's whole run: every call's tool calls, usage, cost
        capture = _current.get()
        return reply.context(model=(capture.param_model or "") if capture is not None else "")
    structured: Any = None
    transcript: list[BaseMessage] | None = None
    raw = _as_message(reply["raw"]) if isinstance(reply, dict) and {"raw", "parsed"} <= reply.keys() else None
    if isinstance(raw, AIMessage):
        reply, structured = raw, reply["parsed"]
    if isinstance(reply, list) and reply:
        messages = [_as_message(m) for m in reply]
        if all(m is not None for m in messages):
            transcript = [m for m in messages if m is not None]
            reply = next((m for m in reversed(transcript) if isinstance(m, AIMessage)), AIMessage(content=""))
    output = reply if isinstance(reply, (AIMessage, str, dict, list)) else _as_message(reply)
    if isinstance(output, str):
        output = AIMessage(content=output)
    elif isinstance(output, (dict, list)) or (output is None and isinstance(reply, BaseModel)):
        structured = reply
        plain = reply.model_dump(mode="json") if isinstance(reply, BaseModel) else reply
        output = AIMessage(content=json.dumps(plain, ensure_ascii=False, default=str))
    elif not isinstance(output, AIMessage):
        raise UnsupportedReplyError(
            f"expected a model reply: {ACCEPTED_REPLIES}, a list of messages, str, dict or pydantic "
            f"object; got {type(reply).__name__}"
        )
    ai = [m for m in (transcript or [output]) if isinstance(m, AIMessage)]
    totals = [timing_of(m).get("total_ms") for m in ai]
    timing = {
        "ttft_ms": timing_of(ai[0]).get("ttft_ms") if ai else None,
        "total_ms": sum(t for t in totals if t is not None) if any(t is not None for t in totals) else None,
    }
    capture = _current.get()
    calls = [c for c in (capture.call_for(m) for m in ai) if c is not None] if capture is not None else []
    model = calls[-1].model if calls else (capture.param_model or "") if capture is not None else ""
    cost = None
    if calls and len(calls) == len(ai) and capture is not None and capture.pricing is not None:
        cost = costs(capture.pricing, calls[0].provider, calls[0].name, ai, [usage_of(m) for m in ai])[0]
    return AssertionContext.from_message(
        output,
        transcript=transcript,
        structured=structured,
        timing=timing,
        cost_usd=cost,
        case_id="",
        model=model,
    )


def describe_reply(ctx: Any) -> str:
    """The model's reply as a failure message shows it: who answered, the text, tool calls, structure."""
    out = ctx.output
    md = out.response_metadata or {}
    source = (md.get("timing") or {}).get("source")
    who = ", ".join(str(x) for x in (md.get("model_name") or ctx.model or None, source) if x)
    lines = [f"model reply{f' ({who})' if who else ''}:"]
    text = ctx.text if len(ctx.text) <= 2000 else ctx.text[:2000] + f"… ({len(ctx.text)} chars)"
    lines += ["  text: " + (text.replace("\n", "\n        ") if text else "(empty)")]
    for c in ctx.tool_calls:
        lines.append(
            f"  tool call: {c['name']}({json.dumps(c.get('args'), ensure_ascii=False, default=str)})"
        )
    if ctx.structured is not None:
        from harness.assertions.base import to_jsonable

        lines.append(
            "  structured: " + json.dumps(to_jsonable(ctx.structured), ensure_ascii=False, default=str)[:2000]
        )
    if md.get("finish_reason"):
        lines.append(f"  finish_reason: {md['finish_reason']}")
    return "\n".join(lines)


def check(helper: str, reply: Any, specs: list[Any]) -> list[Any]:
    """Evaluate suite assertions on `reply`; record the outcomes; raise AssertionError showing the reply."""
    __tracebackhide__ = True
    from pydantic import ValidationError

    from harness.assertions.registry import evaluate_sync, parse_assertions

    try:
        specs = parse_assertions(specs)
    except ValidationError as e:  # a mistake in the test, not in the model's reply
        raise ValueError(f"{helper}: invalid assertion {specs!r}: {e}") from None
    ctx = _context(reply)
    outcomes = evaluate_sync(specs, ctx)
    capture = _current.get()
    if capture is not None:
        capture.outcomes.extend(o.to_dict() for o in outcomes)
    failed = [o for o in outcomes if not o.passed]
    if failed:
        reasons = "\n".join(f"  [{o.type}] {o.reason}" for o in failed)
        raise AssertionError(f"{helper} failed:\n{reasons}\n{describe_reply(ctx)}")
    return outcomes


def assert_contains(reply: Any, value: str, *, ignore_case: bool = False) -> None:
    """The reply's text contains `value` (ignore_case=True: case-insensitive)."""
    __tracebackhide__ = True
    check("assert_contains", reply, [{"type": "icontains" if ignore_case else "contains", "value": value}])


def assert_tool_called(
    reply: Any, name: str, args: dict[str, Any] | None = None, *, times: int | None = None
) -> None:
    """The reply (or transcript) called tool `name`, with arguments containing `args` when given,
    at least once, or exactly `times` times."""
    __tracebackhide__ = True
    check("assert_tool_called", reply, [{"type": "tool_called", "name": name, "args": args, "times": times}])


def assert_matches_schema(reply: Any, schema: Any) -> Any:
    """The structured output (or the reply's text as JSON) matches `schema`: a JSON schema dict or a
    pydantic model class. Returns the parsed value (the pydantic instance for a class)."""
    __tracebackhide__ = True
    from pydantic import BaseModel, ValidationError

    from harness.assertions.base import structured_or_json

    if isinstance(schema, type) and issubclass(schema, BaseModel):
        ctx = _context(reply)
        try:
            value, _ = structured_or_json(ctx)
            parsed = schema.model_validate(value)
        except (ValueError, ValidationError) as e:
            reason = f"does not validate as {schema.__name__}: {e}"
            capture = _current.get()
            if capture is not None:
                capture.outcomes.append(
                    {"type": "pydantic", "passed": False, "reason": reason, "score": None}
                )
            raise AssertionError(
                f"assert_matches_schema failed:\n  {reason}\n{describe_reply(ctx)}"
            ) from None
        return parsed
    check("assert_matches_schema", reply, [{"type": "json-schema", "schema": schema}])
    from harness.assertions.base import to_jsonable

    return to_jsonable(structured_or_json(_context(reply))[0])


def assert_passes(reply: Any, *specs: Any, **fields: Any) -> list[Any]:
    """Any suite assertion as a function: assert_passes(reply, "icontains", value="paris"), or
    assert_passes(reply, {"type": "regex", "value": "\\d+"}, {"type": "latency", "max_ms": 2000})."""
    __tracebackhide__ = True
    if specs and isinstance(specs[0], str):
        if len(specs) > 1:
            raise TypeError(
                "assert_passes(reply, 'type', **fields) takes one type name; pass several assertions as dicts"
            )
        specs = ({"type": specs[0], **fields},)
    elif fields:
        raise TypeError(
            "keyword fields go with a type name: assert_passes(reply, 'icontains', value='paris')"
        )
    if not specs:
        raise TypeError("assert_passes needs at least one assertion")
    return check("assert_passes", reply, list(specs))
