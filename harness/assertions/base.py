"""What every assertion shares: the outcome, the context it reads, and small helpers.

Public names are re-exported from `harness.assertions.registry`; import them from there.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from harness.messages.core import AIMessage, BaseMessage
from harness.messages.usage import flat_usage, sum_flat_usage

PREVIEW_CHARS = 200


@dataclass
class Outcome:
    """The verdict of one assertion on one cell. `reason` is written for a reviewer to read."""

    type: str
    passed: bool
    reason: str
    score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "passed": self.passed, "reason": self.reason, "score": self.score}


@dataclass
class AssertionContext:
    """Everything an assertion may look at for one case × model × repeat cell."""

    output: AIMessage
    text: str
    structured: Any
    transcript: list[BaseMessage]
    tool_calls: list[dict[str, Any]]
    usage: dict[str, Any]
    cost_usd: float | None
    timing: dict[str, Any]
    vars: dict[str, Any]
    case_id: str
    model: str
    judge: Any | None = None

    @classmethod
    def from_message(
        cls,
        output: AIMessage,
        *,
        transcript: list[BaseMessage] | None = None,
        structured: Any = None,
        usage: dict[str, Any] | None = None,
        cost_usd: float | None = None,
        timing: dict[str, Any] | None = None,
        vars: dict[str, Any] | None = None,
        case_id: str = "",
        model: str = "",
        judge: Any | None = None,
    ) -> AssertionContext:
        """Build a context from a final message (and the transcript, when there was a tool loop).

        Tool calls are collected from every AI message of the transcript in order, usage is summed
        from their `usage_metadata`, unless given explicitly.
        """
        messages: list[BaseMessage] = list(transcript) if transcript else [output]
        ai = [m for m in messages if isinstance(m, AIMessage)]
        if output not in ai:
            ai.append(output)
        calls = [
            {"name": c["name"], "args": c.get("args") or {}, "id": c.get("id")}
            for m in ai
            for c in m.tool_calls
        ]
        return cls(
            output=output,
            text=str(output.text),
            structured=structured,
            transcript=messages,
            tool_calls=calls,
            usage=usage if usage is not None else sum_usage(ai),
            cost_usd=cost_usd,
            timing=timing or {},
            vars=vars or {},
            case_id=case_id,
            model=model,
            judge=judge,
        )


def sum_usage(messages: list[AIMessage]) -> dict[str, int]:
    """The flat usage of AI messages added up ({} when no message reported usage, so token
    assertions can say it is unknown)."""
    if not any(m.usage_metadata for m in messages):
        return {}
    return sum_flat_usage(flat_usage(m) for m in messages)


class SpecBase(BaseModel):
    """Base of every assertion spec: unknown keys are an error, YAML numbers are fine as text."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, populate_by_name=True)
    # an llm_judge: a run without a judge model for it is refused before the first cell
    needs_judge: ClassVar[bool] = False

    def resolve_imports(self, base_dir: Path | None) -> None:
        """Import the Python objects this assertion names, relative to `base_dir` (the suite's folder),
        so a bad path stops the run before its first cell. Raises ImportPathError; most types name none.
        """

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        """Dump with the names a suite file uses ("class", "schema"), so the dump loads again."""
        kwargs.setdefault("by_alias", True)
        return super().model_dump(**kwargs)

    def outcome(self, passed: bool, reason: str, score: float | None = None) -> Outcome:
        return Outcome(type=self.type, passed=passed, reason=reason, score=score)  # type: ignore[attr-defined]


# --- helpers ------------------------------------------------------------------------------------


def preview(value: Any, limit: int = PREVIEW_CHARS) -> str:
    """repr() of a value, cut to `limit` characters so a reason stays readable."""
    text = (
        value if isinstance(value, str) else json.dumps(to_jsonable(value), ensure_ascii=False, default=str)
    )
    if len(text) > limit:
        return repr(text[:limit]) + f"… ({len(text)} chars)"
    return repr(text) if isinstance(value, str) else text


def to_jsonable(value: Any) -> Any:
    """Pydantic instances become plain dicts; everything else is returned as is."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


_FENCE = re.compile(r"^```[A-Za-z0-9_-]*[ \t]*\n(.*?)\n?```$", re.DOTALL)


def parse_json_text(text: str) -> Any:
    """Parse the whole text as JSON, allowing one surrounding ``` code fence. Raises ValueError."""
    stripped = text.strip()
    m = _FENCE.match(stripped)
    if m:
        stripped = m.group(1).strip()
    return json.loads(stripped)


def structured_or_json(ctx: AssertionContext) -> tuple[Any, str]:
    """The value JSON-shaped assertions check: parsed structured output, else the text as JSON.

    Returns (value, what) where `what` names the source for reasons. Raises ValueError with a
    readable message when there is no structured output and the text is not JSON.
    """
    if ctx.structured is not None:
        return to_jsonable(ctx.structured), "structured output"
    try:
        return parse_json_text(ctx.text), "output JSON"
    except ValueError as e:
        raise ValueError(
            f"no structured output, and the text is not JSON ({e}); got {preview(ctx.text)}"
        ) from e
