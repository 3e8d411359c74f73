"""The suite file's strict pydantic models: `Suite`, its `Case`s, model entries, tools, structured output.

`harness.suite.spec` loads them from YAML (and names them all); the JSON schema of these models is
committed at `harness/suite.schema.json` (`harness.suite.schema.suite_json_schema()`).
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from harness.assertions.registry import AssertionSpec
from harness.errors import SuiteError
from harness.imports import check_import_form
from harness.suite.expansion import ExpandedCase, dotted, expand_case, line_in

__all__ = [
    "Case",
    "MessageSpec",
    "ModelEntry",
    "ModelSpec",
    "StructuredMethod",
    "StructuredOutputSpec",
    "Suite",
    "ToolSpec",
]

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
_TOOL_NAME = r"^[A-Za-z0-9_-]{1,64}$"
StructuredMethod = Literal["json_schema", "function_calling", "json_mode"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ModelEntry(BaseModel):
    """A model to run: `model` ("provider:name"), an optional display `id`, and init_chat_model params
    (`base_url`, `temperature`, `use_responses_api`, `max_tokens`, ...)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": True})
    model: str = Field(min_length=1, description="Model string, e.g. 'openai:gpt-4.1-mini'.")
    id: str | None = Field(
        None, pattern=_ID, description="Display id in results (default: the model string)."
    )

    @property
    def display_id(self) -> str:
        return self.id or self.model

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    @classmethod
    def coerce(cls, value: str | ModelEntry | dict[str, Any]) -> ModelEntry:
        if isinstance(value, ModelEntry):
            return value
        if isinstance(value, str):
            return cls.model_validate({"model": value})
        return cls.model_validate(value)


ModelSpec = str | ModelEntry


class MessageSpec(_Strict):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] = ""
    name: str | None = None
    tool_call_id: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class ToolSpec(_Strict):
    """A tool the model may call. Its result is `returns` (rendered with jinja2, the call's args as
    variables; non-strings are sent as JSON) or the return value of `function` ("package.module:name")."""

    name: str = Field(pattern=_TOOL_NAME)
    description: str = ""
    parameters: dict[str, Any] | None = Field(None, description="JSON schema of the arguments.")
    returns: Any = Field(None, description="Canned result; a string is a jinja2 template over the args.")
    function: str | None = Field(
        None,
        description="Import path 'package.module:callable' or 'path/to/file.py:callable' run with the args.",
    )

    @field_validator("function")
    @classmethod
    def _import_form(cls, v: str | None) -> str | None:
        return None if v is None else check_import_form(v, "`function`")

    @model_validator(mode="after")
    def _one_result(self) -> ToolSpec:
        if self.returns is not None and self.function is not None:
            raise ValueError("give either 'returns' or 'function', not both")
        if self.returns is None and self.function is None:
            raise ValueError("a tool needs 'returns' (a canned result) or 'function' (an import path)")
        if self.function is None and self.parameters is None:
            self.parameters = {"type": "object", "properties": {}}
        return self


class StructuredOutputSpec(_Strict):
    schema_: dict[str, Any] | str = Field(
        alias="schema",
        description="JSON schema, or 'package.module:PydanticModel' / 'path/to/file.py:PydanticModel'.",
    )
    method: StructuredMethod | None = Field(None, description="Default: the provider's preferred method.")
    name: str | None = Field(
        None, description="Name of the output (default: the schema's title, or 'output')."
    )
    strict: bool | None = None


_TARGET_DESCRIPTION = (
    "Your app as the thing under test: 'package.module:function' or 'path/to/file.py:function', called "
    "once per cell with a TargetInput (docs/targets.md)."
)


def _check_target(v: str | None) -> str | None:
    return None if v is None else check_import_form(v, "`target`")


class Case(_Strict):
    id: str = Field(pattern=_ID)
    description: str | None = None
    target: str | None = Field(None, description=_TARGET_DESCRIPTION)
    prompt: str | None = Field(None, description="A user message (jinja2 template).")
    system: str | None = Field(None, description="A system message put before the prompt (jinja2 template).")
    messages: list[MessageSpec] | None = None
    vars: dict[str, Any] | list[dict[str, Any]] = Field(
        default_factory=dict, description="Template variables; a list of mappings runs the case once per row."
    )
    matrix: dict[str, list[Any]] = Field(
        default_factory=dict, description="Variables crossed with each other (cartesian product)."
    )
    tools: list[ToolSpec] = Field(default_factory=list)
    tool_choice: str | None = Field(None, description="auto | any | required | none | a tool name")
    tool_loop: bool = Field(True, description="Run the tools the model calls and send the results back.")
    max_turns: int = Field(5, ge=1, le=50)
    structured_output: StructuredOutputSpec | None = None
    stream: bool = False
    params: dict[str, Any] = Field(default_factory=dict, description="Model call params for this case.")
    repeat: int | None = Field(None, ge=1)
    tags: list[str] = Field(default_factory=list)
    assert_: list[AssertionSpec] = Field(default_factory=list, alias="assert")

    _target = field_validator("target")(classmethod(lambda cls, v: _check_target(v)))

    @model_validator(mode="after")
    def _input(self, info: ValidationInfo) -> Case:
        if self.prompt is not None and self.messages is not None:
            raise ValueError("a case needs exactly one of 'prompt' or 'messages'")
        # a target (the case's, or the suite's: `parse_suite` passes it as context) needs no input
        suite_target = (info.context or {}).get("suite_target")
        if self.prompt is None and self.messages is None and self.target is None and not suite_target:
            raise ValueError("a case needs exactly one of 'prompt' or 'messages' (or a 'target')")
        if self.structured_output is not None and self.tools:
            raise ValueError("'structured_output' cannot be combined with 'tools' in one case")
        if self.target is not None or suite_target:
            _no_model_fields(self)
        return self


def _no_model_fields(case: Case) -> None:
    """A target makes its own model calls: what harness would send for a prompt case has no place."""
    given = [k for k in _MODEL_CALL_FIELDS if k in case.model_fields_set]
    if given:
        raise ValueError(
            f"case {case.id!r} has a target, which makes its own model calls: remove "
            f"{', '.join(repr(k) for k in given)} (give them to your target's code; it gets the case's vars)"
        )


# what only a prompt case's model call uses
_MODEL_CALL_FIELDS = (
    "tools",
    "structured_output",
    "tool_choice",
    "tool_loop",
    "max_turns",
    "stream",
    "params",
)


class Suite(_Strict):
    name: str = Field(pattern=_ID)
    description: str | None = None
    models: list[ModelSpec] = Field(default_factory=list)
    defaults: dict[str, Any] = Field(default_factory=dict, description="Model params for every model.")
    judge: ModelSpec | None = Field(None, description="Model for llm_judge assertions.")
    target: str | None = Field(None, description=_TARGET_DESCRIPTION + " Cases may set their own.")
    system: str | None = Field(None, description="Default system message of every case.")
    vars: dict[str, Any] = Field(default_factory=dict, description="Variables shared by every case.")
    concurrency: int | None = Field(None, ge=1)
    provider_concurrency: dict[str, int] = Field(default_factory=dict)
    repeat: int = Field(1, ge=1)
    tags: list[str] = Field(default_factory=list)
    cases: list[Case] = Field(min_length=1)
    secret_headers: list[str] = Field(
        default_factory=list,
        description="Further request/response headers scrubbed from cassettes (names, any case).",
    )
    scrub_patterns: list[str] = Field(
        default_factory=list, description="Regexes replaced by <REDACTED> in everything a cassette stores."
    )

    # where the suite came from, for located errors after validation (the runner's model checks)
    _path: str | None = None
    _lines: dict[tuple[Any, ...], int] | None = None
    _expanded: list[ExpandedCase] | None = None  # a parsed suite is not changed: expanded once

    @field_validator("models", "judge")
    @classmethod
    def _named_models(cls, value: Any) -> Any:
        for model in value if isinstance(value, list) else [value]:
            if isinstance(model, str) and not model.strip():
                raise ValueError("a model string is empty; write 'provider:name', e.g. 'openai:gpt-4.1-mini'")
        return value

    _target = field_validator("target")(classmethod(lambda cls, v: _check_target(v)))

    @field_validator("cases")
    @classmethod
    def _unique_ids(cls, cases: list[Case]) -> list[Case]:
        seen: set[str] = set()
        for case in cases:
            if case.id in seen:
                raise ValueError(f"duplicate case id {case.id!r}; case ids must be unique")
            seen.add(case.id)
        return cases

    @field_validator("scrub_patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for p in patterns:
            try:
                re.compile(p)
            except re.error as e:
                raise ValueError(f"{p!r} is not a regular expression: {e}") from None
        return patterns

    @property
    def model_entries(self) -> list[ModelEntry]:
        return [ModelEntry.coerce(m) for m in self.models]

    @property
    def path(self) -> str | None:
        return self._path

    @property
    def line_table(self) -> dict[tuple[Any, ...], int] | None:
        """Line of each location in the source file (`line_in` reads it), when loaded from text."""
        return self._lines

    def line_of(self, *loc: str | int) -> int | None:
        """Line (1-based) of a location such as ("models", 1) in the source file, when known."""
        return line_in(self._lines, loc)

    def error(self, message: str, *loc: str | int) -> SuiteError:
        where = dotted(loc)
        return SuiteError(
            f"{where}: {message}" if where else message, path=self._path, line=self.line_of(*loc)
        )

    def cell_counts(self, repeat: int | None = None) -> list[int]:
        """Per case: variants x repeats (one model), computed without expanding anything."""
        out = []
        for case in self.cases:
            rows = len(case.vars) if isinstance(case.vars, list) else 1
            out.append(
                rows * math.prod(map(len, case.matrix.values())) * (repeat or case.repeat or self.repeat)
            )
        return out

    def expand(self) -> list[ExpandedCase]:
        """One ExpandedCase per case x vars row x matrix combination, in file order; computed once (the
        selection, the runner and a worker process's preparation share it), a new list each call."""
        if self._expanded is None:
            self._expanded = [
                ec for index, case in enumerate(self.cases) for ec in expand_case(self, index, case)
            ]
        return list(self._expanded)
