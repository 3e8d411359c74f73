"""Everything a cell will need, checked before the first cell runs.

Templates of every variant, the Python objects assertions and tools name (imported, relative to the
suite's folder), a judge model for every `llm_judge`, structured-output schemas, and what each model's
provider supports (tools, tool_choice, the structured-output method: binding fails here exactly as the
first call would). Anything wrong is a SuiteError naming the file and line, so `harness run` exits 2
before it writes anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from harness.assertions.base import SpecBase
from harness.assertions.model_graded import LlmJudge
from harness.assertions.registry import parse_assertions
from harness.errors import ConfigurationError, TemplateError
from harness.runner.cell import ResolvedModel, ToolRuntime, structured_schema
from harness.suite.schema import validation_message
from harness.suite.spec import ExpandedCase, Suite
from harness.suite.templates import render_tree

if TYPE_CHECKING:
    from harness.runner.runner import Cell, Runner


class CaseAssertions:
    """Each case's assertions; with `{{ var }}` templates in their values, rendered per variant (cached)."""

    def __init__(self, suite: Suite) -> None:
        self.templated = {id(c) for c in suite.cases if _has_template(_dumped(c.assert_))}
        self._rendered: dict[int, list[SpecBase]] = {}

    def of(self, ec: ExpandedCase) -> list[SpecBase]:
        specs: list[SpecBase] = ec.case.assert_
        if id(ec.case) not in self.templated:
            return list(specs)
        key = id(ec)
        if key not in self._rendered:
            raw = [s.model_dump(by_alias=True, exclude_unset=True) for s in specs]
            self._rendered[key] = parse_assertions(render_tree(raw, ec.vars))
        return self._rendered[key]


def check_cases(runner: Runner) -> dict[int, dict[str | None, ResolvedModel]]:
    """Validate every case of the runner's suite; returns the judge models of each case (by id): by
    the `model:` an llm_judge names, and under None the suite's judge."""
    judges: dict[int, dict[str | None, ResolvedModel]] = {}
    templated = runner.assertions.templated
    for ec in runner.cases:
        ec.messages()  # renders the templates: an undefined variable fails here, not mid-run
        if id(ec.case) in templated:
            _check_imports(runner, ec, _rendered_assertions(runner, ec))
        if id(ec.case) not in judges:
            if ec.target is not None:
                _check_target(runner, ec)
            judges[id(ec.case)] = _case_judge(runner, ec)
            if id(ec.case) not in templated:
                _check_imports(runner, ec, ec.case.assert_)
            _check_model_calls(runner, ec)
    return judges


def case_judges(runner: Runner) -> dict[int, dict[str | None, ResolvedModel]]:
    """The judge models of each case, checking nothing else: a worker process of a run the parent
    validated (rendering every case's templates again would cost each worker the whole suite's)."""
    judges: dict[int, dict[str | None, ResolvedModel]] = {}
    for ec in runner.cases:
        if id(ec.case) not in judges:
            judges[id(ec.case)] = _case_judge(runner, ec)
    return judges


def _rendered_assertions(runner: Runner, ec: ExpandedCase) -> list[SpecBase]:
    try:
        return runner.assertions.of(ec)
    except ValidationError as e:  # valid as a template, not once this variant's values are in
        first = e.errors()[0]
        problem = validation_message({**first, "loc": first["loc"][1:]})
        raise runner.suite.error(
            f"{ec.id!r}: {problem}", "cases", ec.index, "assert", first["loc"][0]
        ) from None
    except TemplateError as e:
        raise runner.suite.error(
            f"case {ec.id!r}: assertion template: {e}", "cases", ec.index, "assert"
        ) from None


def _case_judge(runner: Runner, ec: ExpandedCase) -> dict[str | None, ResolvedModel]:
    """Each llm_judge's judge: its own `model:`, else the suite's `judge:` (key None)."""
    judges: dict[str | None, ResolvedModel] = {}
    if runner.suite_judge is not None:
        judges[None] = runner.suite_judge
    specs: list[SpecBase] = ec.case.assert_
    for j, spec in enumerate(specs):
        if isinstance(spec, LlmJudge) and spec.model:
            judges[spec.model] = runner.judge(spec.model, ("cases", ec.index, "assert", j))
    for j, spec in enumerate(specs):
        if isinstance(spec, LlmJudge) and not spec.model and None not in judges:
            raise runner.suite.error(
                f"{spec.type} needs a judge model: set this assertion's `model:` or the suite's `judge:`",
                "cases",
                ec.index,
                "assert",
                j,
            )
    return judges


def _check_imports(runner: Runner, ec: ExpandedCase, specs: list[SpecBase]) -> None:
    for j, spec in enumerate(specs):
        try:
            spec.resolve_imports(runner.runtime.base_dir)
        except ConfigurationError as e:
            raise runner.suite.error(str(e), "cases", ec.index, "assert", j) from None


def _check_target(runner: Runner, ec: ExpandedCase) -> None:
    assert ec.target is not None
    try:
        runner.runtime.target(ec.target)
    except ConfigurationError as e:
        where = ("cases", ec.index, "target") if ec.case.target is not None else ("target",)
        raise runner.suite.error(str(e), *where) from None


def _check_model_calls(runner: Runner, ec: ExpandedCase) -> None:
    case, so = ec.case, ec.case.structured_output
    if case.tools:
        _check_tools(runner, ec)
    elif so is not None:
        try:
            structured_schema(so, runner.runtime.base_dir)
        except ConfigurationError as e:
            raise runner.suite.error(str(e), "cases", ec.index, "structured_output", "schema") from None
    else:
        return  # nothing a provider could refuse
    place = ("tools",) if case.tools else ("structured_output", "method")
    for model in runner.models:
        try:
            runner.runtime.runnable(ec, model)
        except (ConfigurationError, TypeError, ValueError) as e:
            raise runner.suite.error(f"model {model.id!r}: {e}", "cases", ec.index, *place) from None


def _check_tools(runner: Runner, ec: ExpandedCase) -> None:
    try:
        runner.runtime.tools(ec)
    except ConfigurationError:
        for k, spec in enumerate(ec.case.tools):  # which one: build them one by one
            try:
                ToolRuntime(spec, runner.runtime.base_dir)
            except ConfigurationError as e:
                raise runner.suite.error(str(e), "cases", ec.index, "tools", k) from None
        raise


def _dumped(specs: list[SpecBase]) -> list[dict[str, Any]]:
    return [s.model_dump() for s in specs]


def _has_template(value: Any) -> bool:
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(_has_template(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_template(v) for v in value)
    return False


def check_cassette_paths(runner: Runner) -> None:
    """Refuse a suite two of whose cells would share one cassette file.

    A cassette path keeps the readable slug of the case and model ids (so shipped cassettes stay where
    they are), and slugging loses information ("openai:gpt-4.1-mini" and "openai-gpt-4.1-mini", "x/y"
    and "x:y"); a case-insensitive file system loses case too. Refusing names both cells instead of
    renaming one, so adding a case never moves another case's cassette."""
    if runner.options.cassettes_dir is None:
        return
    seen: dict[str, Cell] = {}
    for cell in runner.cells():
        path = runner.cassette_path(cell)
        assert path is not None
        first = seen.setdefault(path.casefold(), cell)
        if first is not cell:
            raise runner.suite.error(
                f"{_describe(first)} and {_describe(cell)} would share the cassette {path}; cassette "
                "names keep only letters, digits, '.', '_' and '-' and ignore case: make the ids differ "
                "in those (a model entry takes `id:`)",
                "cases",
                cell.case.index,
            )


def _describe(cell: Cell) -> str:
    repeat = f" repeat {cell.repeat}" if cell.repeat else ""
    return f"case {cell.case.id!r} x model {cell.model.id!r}{repeat}"
