"""Assertions on the output text and on JSON / structured output."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, PrivateAttr, ValidationError, field_validator

from harness.assertions.base import (
    AssertionContext,
    Outcome,
    SpecBase,
    parse_json_text,
    preview,
    structured_or_json,
    to_jsonable,
)
from harness.errors import ImportPathError
from harness.imports import check_import_form, import_object

# --- plain text ---------------------------------------------------------------------------------


class Equals(SpecBase):
    """The output equals `value`. A string compares with the text (surrounding whitespace ignored
    unless `strip: false`); a number, list or mapping compares with the output parsed as JSON."""

    type: Literal["equals"]
    value: Any
    ignore_case: bool = False
    strip: bool = True

    def check(self, ctx: AssertionContext) -> Outcome:
        if not isinstance(self.value, str):
            try:
                got, what = structured_or_json(ctx)
            except ValueError as e:
                return self.outcome(False, f"expected output equal to {preview(self.value)}; {e}")
            ok = got == self.value
            return self.outcome(
                ok,
                f"{what} equals {preview(self.value)}"
                if ok
                else f"expected {what} equal to {preview(self.value)}; got {preview(got)}",
            )
        text, want = ctx.text, self.value
        if self.strip:
            text, want = text.strip(), want.strip()
        if self.ignore_case:
            text, want = text.casefold(), want.casefold()
        how = " (case-insensitive)" if self.ignore_case else ""
        if text == want:
            return self.outcome(True, f"output equals {preview(self.value)}{how}")
        return self.outcome(
            False, f"expected output to equal {preview(self.value)}{how}; got {preview(ctx.text)}"
        )


class _Contains(SpecBase):
    value: str
    fold: ClassVar[bool] = False
    negate: ClassVar[bool] = False

    def check(self, ctx: AssertionContext) -> Outcome:
        hay, needle = (ctx.text.casefold(), self.value.casefold()) if self.fold else (ctx.text, self.value)
        found = needle in hay
        how = " (case-insensitive)" if self.fold else ""
        verb = "not contain" if self.negate else "contain"
        if found != self.negate:
            said = "does not contain" if self.negate else "contains"
            return self.outcome(True, f"output {said} {preview(self.value)}{how}")
        return self.outcome(
            False, f"expected output to {verb} {preview(self.value)}{how}; got {preview(ctx.text)}"
        )


class Contains(_Contains):
    """The output text contains `value` (case-sensitive)."""

    type: Literal["contains"]


class IContains(_Contains):
    """The output text contains `value`, ignoring case."""

    type: Literal["icontains"]
    fold = True


class NotContains(_Contains):
    """The output text does not contain `value` (case-sensitive)."""

    type: Literal["not-contains"]
    negate = True


class NotIContains(_Contains):
    """The output text does not contain `value`, ignoring case."""

    type: Literal["not-icontains"]
    fold = True
    negate = True


# the regex and jsonschema packages are imported by the assertions that use them: most suites never
# do, and together they are a sixth of `import harness.runner`
_FLAGS = {"i": "IGNORECASE", "m": "MULTILINE", "s": "DOTALL", "x": "VERBOSE"}
REGEX_TIME_LIMIT_S = 1.0


class Regex(SpecBase):
    """A search for `value` in the text finds a match (`re` syntax, run by the `regex` package with a
    time limit, so a backtracking pattern fails the assertion instead of hanging the run). `flags`:
    letters of i (ignore case), m (multiline), s (dot matches newline), x (verbose)."""

    type: Literal["regex", "not-regex"]
    value: str
    flags: str = ""
    timeout_s: float = Field(REGEX_TIME_LIMIT_S, gt=0, le=60, description="Time limit of the search.")

    @field_validator("flags")
    @classmethod
    def _known_flags(cls, v: str) -> str:
        bad = sorted(set(v) - set(_FLAGS))
        if bad:
            raise ValueError(f"unknown regex flag(s) {''.join(bad)!r}; allowed letters: i, m, s, x")
        return v

    @field_validator("value")
    @classmethod
    def _compiles(cls, v: str) -> str:
        import regex

        try:
            regex.compile(v)
        except regex.error as e:
            raise ValueError(f"invalid regular expression {v!r}: {e}") from None
        return v

    def check(self, ctx: AssertionContext) -> Outcome:
        import regex

        flags = 0
        for letter in self.flags:
            flags |= getattr(regex, _FLAGS[letter])
        shown = f"/{self.value}/{self.flags}"
        try:
            m = regex.search(self.value, ctx.text, flags, timeout=self.timeout_s)
        except TimeoutError:
            return self.outcome(
                False,
                f"error: {shown} found no answer within its time limit of {self.timeout_s:g} s "
                f"(timeout_s) on {len(ctx.text):,} characters; a nested repeat such as (a+)+ "
                "backtracks exponentially",
            )
        if self.type == "not-regex":
            if m is None:
                return self.outcome(True, f"output does not match {shown}")
            return self.outcome(
                False,
                f"expected output not to match {shown}; matched {preview(m.group(0))} in {preview(ctx.text)}",
            )
        if m is not None:
            return self.outcome(True, f"output matches {shown} at {preview(m.group(0))}")
        return self.outcome(False, f"expected output to match {shown}; got {preview(ctx.text)}")


class StartsWith(SpecBase):
    """The output text starts with `value` (leading whitespace of the output is ignored)."""

    type: Literal["starts-with"]
    value: str
    ignore_case: bool = False

    def check(self, ctx: AssertionContext) -> Outcome:
        text, want = ctx.text.lstrip(), self.value
        if self.ignore_case:
            text, want = text.casefold(), want.casefold()
        if text.startswith(want):
            return self.outcome(True, f"output starts with {preview(self.value)}")
        return self.outcome(
            False, f"expected output to start with {preview(self.value)}; got {preview(ctx.text)}"
        )


# --- JSON ---------------------------------------------------------------------------------------


class IsJson(SpecBase):
    """The whole output text is one JSON value (a surrounding ``` code fence is allowed)."""

    type: Literal["is-json"]

    def check(self, ctx: AssertionContext) -> Outcome:
        try:
            value = parse_json_text(ctx.text)
        except ValueError as e:
            return self.outcome(False, f"expected output to be JSON ({e}); got {preview(ctx.text)}")
        return self.outcome(True, f"output is valid JSON ({_json_kind(value)})")


def _json_kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def validate_schema(schema: dict[str, Any]) -> None:
    """Raise ValueError naming the place when `schema` itself is not a valid JSON schema."""
    import jsonschema
    from jsonschema.validators import validator_for

    try:
        validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as e:
        raise ValueError(f"invalid JSON schema at {json_path(e.absolute_path)}: {e.message}") from None


def schema_errors(value: Any, schema: dict[str, Any]) -> list[str]:
    """Every way `value` breaks `schema`, as "at $.path: message" lines, in document order."""
    from jsonschema.validators import validator_for

    errors = sorted(
        validator_for(schema)(schema).iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path]
    )
    return [f"at {json_path(e.absolute_path)}: {e.message}" for e in errors]


def json_path(parts: Iterable[str | int]) -> str:
    """A place in a JSON document as `$.tags[0].name`."""
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


class JsonSchema(SpecBase):
    """The structured output (or, without one, the output text parsed as JSON) validates against
    `schema`. Without `schema`, passes when the cell produced parsed structured output."""

    type: Literal["json-schema", "json_schema"]
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")

    @field_validator("json_schema")
    @classmethod
    def _valid_schema(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is not None:
            validate_schema(v)
        return v

    def check(self, ctx: AssertionContext) -> Outcome:
        if self.json_schema is None:
            if ctx.structured is not None:
                return self.outcome(
                    True, "structured output was parsed (no schema given to check it against)"
                )
            return self.outcome(
                False,
                "expected parsed structured output (no `schema:` given); "
                f"the cell has none; text was {preview(ctx.text)}",
            )
        try:
            value, what = structured_or_json(ctx)
        except ValueError as e:
            return self.outcome(False, f"expected JSON matching the schema; {e}")
        errors = schema_errors(value, self.json_schema)
        if not errors:
            return self.outcome(True, f"{what} matches the JSON schema")
        more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
        return self.outcome(
            False,
            f"{what} does not match the JSON schema: {'; '.join(errors[:3])}{more}; got {preview(value)}",
        )


PydanticClass = type[BaseModel]  # named here: inside the class, `type` is the assertion's field


class PydanticCheck(SpecBase):
    """The structured output (or the output text as JSON) validates as the pydantic model `class`
    ("package.module:Model" or "path/to/file.py:Model")."""

    type: Literal["pydantic"]
    class_: str = Field(alias="class")
    _model: PydanticClass | None = PrivateAttr(None)

    @field_validator("class_")
    @classmethod
    def _form(cls, v: str) -> str:
        return check_import_form(v, "pydantic `class`")

    def resolve_imports(self, base_dir: Path | None) -> None:
        self._pydantic_class(base_dir)

    def _pydantic_class(self, base_dir: Path | None = None) -> PydanticClass:
        if self._model is None:
            model = import_object(self.class_, "pydantic `class`", base_dir=base_dir)
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                raise ImportPathError(
                    f"pydantic `class` {self.class_!r} is not a pydantic BaseModel "
                    f"subclass (it is {type(model).__name__})"
                )
            self._model = model
        return self._model

    def check(self, ctx: AssertionContext) -> Outcome:
        model = self._pydantic_class()
        if isinstance(ctx.structured, model):
            return self.outcome(True, f"structured output is a {model.__name__}")
        try:
            value, what = structured_or_json(ctx)
        except ValueError as e:
            return self.outcome(False, f"expected JSON valid as {model.__name__}; {e}")
        try:
            model.model_validate(to_jsonable(value))
        except ValidationError as e:
            return self.outcome(
                False,
                f"{what} is not a valid {model.__name__}: {format_validation_error(e)}; got {preview(value)}",
            )
        return self.outcome(True, f"{what} is a valid {model.__name__}")


def format_validation_error(e: ValidationError, limit: int = 3) -> str:
    errs = e.errors()
    parts = []
    for err in errs[:limit]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "(root)"
        parts.append(f"{loc}: {err.get('msg')} (got {json.dumps(err.get('input'), default=str)[:60]})")
    more = f" (+{len(errs) - limit} more)" if len(errs) > limit else ""
    return "; ".join(parts) + more


TEXT_SPECS: tuple[type[SpecBase], ...] = (
    Equals,
    Contains,
    IContains,
    NotContains,
    NotIContains,
    Regex,
    StartsWith,
    IsJson,
    JsonSchema,
    PydanticCheck,
)
