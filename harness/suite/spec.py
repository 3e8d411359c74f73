"""Suite files: strict pydantic models, loaded with errors that name file:line (expansion: `expansion`).

    suite = load_suite("suites/quickstart.yaml")      # SuiteError("suites/x.yaml:12: cases[0]...")
    for case in suite.expand():                       # one ExpandedCase per vars variant
        case.messages()                               # rendered with jinja2

The JSON schema of these models is committed at `harness/suite.schema.json`
(`harness.suite.schema.suite_json_schema()`, `harness suite-schema`).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.assertions.registry import AssertionSpec
from harness.errors import SuiteError
from harness.imports import check_import_form
from harness.suite.expansion import ExpandedCase, dotted, expand_case, line_in, slugify

__all__ = [
    "ModelEntry",
    "ModelSpec",
    "MessageSpec",
    "ToolSpec",
    "StructuredOutputSpec",
    "StructuredMethod",
    "Case",
    "Suite",
    "ExpandedCase",
    "slugify",
    "line_in",
    "load_suite",
    "parse_suite",
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


class Case(_Strict):
    id: str = Field(pattern=_ID)
    description: str | None = None
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

    @model_validator(mode="after")
    def _input(self) -> Case:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("a case needs exactly one of 'prompt' or 'messages'")
        if self.structured_output is not None and self.tools:
            raise ValueError("'structured_output' cannot be combined with 'tools' in one case")
        return self


class Suite(_Strict):
    name: str = Field(pattern=_ID)
    description: str | None = None
    models: list[ModelSpec] = Field(default_factory=list)
    defaults: dict[str, Any] = Field(default_factory=dict, description="Model params for every model.")
    judge: ModelSpec | None = Field(None, description="Model for llm_judge assertions.")
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

    @field_validator("models", "judge")
    @classmethod
    def _named_models(cls, value: Any) -> Any:
        for model in value if isinstance(value, list) else [value]:
            if isinstance(model, str) and not model.strip():
                raise ValueError("a model string is empty; write 'provider:name', e.g. 'openai:gpt-4.1-mini'")
        return value

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
        out: list[ExpandedCase] = []
        for index, case in enumerate(self.cases):
            out.extend(expand_case(self, index, case))
        return out


# --- loading --------------------------------------------------------------------------------------


def load_suite(path: str | Path) -> Suite:
    """Read and validate a suite file. Any problem raises SuiteError naming file:line and the field."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise SuiteError("suite file not found", path=str(path)) from None
    except OSError as e:
        raise SuiteError(f"cannot read the suite file: {e.strerror}", path=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        column = e.start - raw.rfind(b"\n", 0, e.start)
        raise SuiteError(
            f"not UTF-8 text: byte 0x{raw[e.start]:02x} at column {column} cannot start or continue "
            "a character; save the file as UTF-8",
            path=str(path),
            line=raw.count(b"\n", 0, e.start) + 1,
        ) from None
    return parse_suite(text, str(path))


def parse_suite(text: str, path: str = "<suite>") -> Suite:
    """Validate a suite's text; `path` is what its errors name."""
    from harness.suite.yaml_loader import cached_parse, compact_lines, store_parse

    cached = cached_parse(text)
    if cached is not None:  # a suite file parsed before: its data and line table, without YAML parsing
        try:
            suite = Suite.model_validate(cached[0])
        except ValidationError:
            pass  # report from a fresh parse, with every line known
        else:
            suite._path, suite._lines = path, cached[1]
            return suite
    data, lines = _located_yaml(text, path)
    # the few lines the runner may still report on, then the full table is dropped before the suite's
    # objects are built: a big suite's first parse is its peak of memory
    try:
        compact = compact_lines(data, lines)
    except (TypeError, AttributeError):  # not a suite's shape: validation fails and says where
        compact = {}
    del lines
    try:
        suite = Suite.model_validate(data)
    except ValidationError as e:
        data, lines = _located_yaml(text, path)  # an invalid suite: parsed again, every line known
        raise _invalid_suite(e, data, lines, path) from None
    suite._path = path
    suite._lines = compact
    store_parse(text, data, suite._lines)
    return suite


def _located_yaml(text: str, path: str) -> tuple[dict[str, Any], dict[int, tuple[int, Any]]]:
    """The suite's mapping and its line table; a YAML error, or a file that is no mapping, is located."""
    from harness.suite.yaml_loader import load_yaml

    try:
        data, lines = load_yaml(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = " ".join(str(x) for x in (e.context, e.problem) if x)
        if e.context_mark is not None and mark is not None and e.context_mark.line != mark.line:
            problem += f" (it started on line {e.context_mark.line + 1})"
        raise SuiteError(
            f"invalid YAML: {problem}", path=path, line=mark.line + 1 if mark else None
        ) from None
    except yaml.reader.ReaderError as e:  # a character YAML does not allow, e.g. a control character
        raise SuiteError(
            f"invalid YAML: character {chr(e.character)!r} is not allowed (control characters other than "
            "tab and newline cannot appear in YAML)",
            path=path,
            line=text.count("\n", 0, e.position) + 1,
        ) from None
    except yaml.YAMLError as e:
        raise SuiteError(f"invalid YAML: {e}", path=path) from None
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        raise SuiteError(
            f"a suite file must be a mapping with 'name' and 'cases'; received {got}", path=path, line=1
        )
    return data, lines


def _invalid_suite(
    error: ValidationError, data: dict[str, Any], lines: dict[int, tuple[int, Any]], path: str
) -> SuiteError:
    """One located line for a suite pydantic refused, with how many other problems it has."""
    from harness.suite.schema import validation_message
    from harness.suite.yaml_loader import line_for

    errors = error.errors(include_url=False)
    # a misspelt key shows up twice: as an unknown field and as the required one it was meant to
    # be; the unknown field (with its "did you mean") is the one that says what to fix
    first = next((err for err in errors if err["type"] == "extra_forbidden"), errors[0])
    message = validation_message(dict(first), data)
    # a value that fits no member of a union fails once per member: one problem, one message
    n = len(dict.fromkeys(validation_message(dict(err), data) for err in errors))
    more = f" (and {n - 1} more error{'s' if n > 2 else ''})" if n > 1 else ""
    return SuiteError(message + more, path=path, line=line_for(data, lines, tuple(first["loc"])))
