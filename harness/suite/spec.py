"""Suite files: strict pydantic models (`models`), loaded with errors that name file:line (expansion:
`expansion`).

    suite = load_suite("suites/quickstart.yaml")      # SuiteError("suites/x.yaml:12: cases[0]...")
    for case in suite.expand():                       # one ExpandedCase per vars variant
        case.messages()                               # rendered with jinja2

The JSON schema of these models is committed at `harness/suite.schema.json`
(`harness.suite.schema.suite_json_schema()`, `harness suite-schema`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from harness.errors import SuiteError
from harness.suite.expansion import ExpandedCase, line_in, slugify
from harness.suite.models import (
    Case,
    MessageSpec,
    ModelEntry,
    ModelSpec,
    StructuredMethod,
    StructuredOutputSpec,
    Suite,
    ToolSpec,
)

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
    from harness.suite.datafiles import has_file_refs, resolve_file_refs
    from harness.suite.yaml_loader import cached_parse, compact_lines, line_for, store_parse

    refs = has_file_refs(text)  # files may change between runs: such a suite is never cached
    cached = None if refs else cached_parse(text)
    if cached is not None:  # a suite file parsed before: its data and line table, without YAML parsing
        try:
            suite = Suite.model_validate(cached[0], context=_context(cached[0]))
        except ValidationError:
            pass  # report from a fresh parse, with every line known
        else:
            suite._path, suite._lines = path, cached[1]
            return suite
    data, lines = _located_yaml(text, path)
    where = (
        resolve_file_refs(data, path, lambda loc, table=lines: line_for(data, table, loc)) if refs else None
    )
    # the few lines the runner may still report on, then the full table is dropped before the suite's
    # objects are built: a big suite's first parse is its peak of memory
    try:
        compact = compact_lines(data, lines)
    except (TypeError, AttributeError):  # not a suite's shape: validation fails and says where
        compact = {}
    kept = lines if refs else None  # file refs changed the data: a parse again would not match it
    del lines
    try:
        suite = Suite.model_validate(data, context=_context(data))
    except ValidationError as e:
        if kept is None:  # an invalid suite: parsed again, every line known
            data, kept = _located_yaml(text, path)
        raise _invalid_suite(e, data, kept, path, where) from None
    suite._path = path
    suite._lines = compact
    if not refs:
        store_parse(text, data, suite._lines)
    return suite


def _context(data: Any) -> dict[str, Any]:
    """What a case's validation needs to know of its suite: whether a suite-level target runs it."""
    return {"suite_target": data.get("target") if isinstance(data, dict) else None}


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
    error: ValidationError,
    data: dict[str, Any],
    lines: dict[int, tuple[int, Any]],
    path: str,
    where: Callable[[tuple[Any, ...]], str] | None = None,
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
    source = where(tuple(first["loc"])) if where is not None else ""  # a case read from a dataset file
    return SuiteError(message + source + more, path=path, line=line_for(data, lines, tuple(first["loc"])))
