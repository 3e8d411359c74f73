"""The one renderer of user templates (prompts, system messages, message contents, assertion values,
tool `returns`): jinja2's immutable sandbox, with bounded sizes.

    render("What is the capital of {{ country }}?", {"country": "France"})
    render("{{ cycler.__init__.__globals__ }}", {})     # TemplateError: access to attribute '__init__' ...

A suite file is data, so its templates may read variables but never reach Python internals (the
sandbox refuses underscore attributes, unsafe callables and mutation of values). It also cannot
exhaust memory or time: the template text, every string or list an operator builds, every number a
filter or method is given, the items `range` makes in one render, and the rendered output are
bounded. Any failure is a `TemplateError` without location; callers add the file, case and field.
"""

from __future__ import annotations

import contextvars
import functools
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jinja2
from jinja2.compiler import CodeGenerator, Frame
from jinja2.nodes import Concat
from jinja2.sandbox import ImmutableSandboxedEnvironment

from harness.errors import TemplateError
from harness.files import hidden_name, hidden_refusal

MAX_TEMPLATE_CHARS = 1_000_000  # the template text itself
MAX_OUTPUT_CHARS = 1_000_000  # what one render may produce, and any string or list built on the way
MAX_RANGE_ITEMS = 100_000  # items all `range()` calls of one render may make together
_HUGE_WIDTH = re.compile(r"\d{7,}")  # a format width or precision of a million or more
# range() items made so far by the render in progress (a context variable: renders run in threads too)
_range_used: contextvars.ContextVar[int] = contextvars.ContextVar("harness_template_range_used", default=0)


def _too_big(what: str, size: int, limit: int = MAX_OUTPUT_CHARS) -> TemplateError:
    return TemplateError(f"{what} would be {size:,} long; templates are limited to {limit:,}")


def _sized(value: Any) -> int:
    return len(value) if isinstance(value, (str, list, tuple)) else 0


def _check_numbers(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Widths, counts and paddings beyond the output limit would allocate before any check could run."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_OUTPUT_CHARS:
            raise TemplateError(
                f"the number {value:,} is above the template limit of {MAX_OUTPUT_CHARS:,} "
                "for widths, counts and sizes"
            )


def _check_format(fmt: Any) -> None:
    if isinstance(fmt, str) and _HUGE_WIDTH.search(fmt):
        raise TemplateError(f"a format width above {MAX_OUTPUT_CHARS:,} is not allowed in templates")


class _BoundedCodeGenerator(CodeGenerator):
    def visit_Concat(self, node: Concat, frame: Frame) -> None:
        # `a ~ b` compiles to a plain join no sandbox hook sees: route it through a bounded one
        self.write("environment.bounded_join((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with operators, filters, calls and `range` that cannot grow unbounded."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, loader: jinja2.BaseLoader | None = None) -> None:
        super().__init__(
            undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True, loader=loader
        )
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}
        self.globals["range"] = self.bounded_range

    def bounded_join(self, parts: tuple[Any, ...]) -> str:
        texts = [str(p) for p in parts]
        size = sum(map(len, texts))
        if size > MAX_OUTPUT_CHARS:
            raise _too_big("a joined string (~)", size)
        return "".join(texts)

    def bounded_range(self, *args: int) -> range:
        _check_numbers(args, {})
        items = range(*args)
        used = _range_used.get() + len(items)
        _range_used.set(used)
        if used > MAX_RANGE_ITEMS:
            raise TemplateError(f"range() made more than {MAX_RANGE_ITEMS:,} items in one template")
        return items

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if _sized(seq) and isinstance(n, int) and _sized(seq) * n > MAX_OUTPUT_CHARS:
                    raise _too_big("a repeated string or list (*)", _sized(seq) * n)
        elif operator == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1:
            bits = abs(left).bit_length() * right
            if bits > MAX_OUTPUT_CHARS:
                raise _too_big("a power (**), in bits,", bits)
        elif operator == "+" and _sized(left) + _sized(right) > MAX_OUTPUT_CHARS:
            raise _too_big("a concatenation (+)", _sized(left) + _sized(right))
        elif operator == "%":
            _check_format(left)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _check_numbers(args, kwargs)
        method = getattr(__obj, "__wrapped__", __obj)  # the sandbox wraps str.format to check its fields
        receiver = getattr(method, "__self__", None)
        if isinstance(receiver, str):
            _check_format(receiver if getattr(__obj, "__name__", "") in ("format", "format_map") else None)
            # a string method's result is at most about its receiver times its longest argument
            factor = max([1, *(_sized(a) for a in args), *(a for a in args if type(a) is int)])
            if len(receiver) * factor > 10 * MAX_OUTPUT_CHARS:
                raise _too_big(f"the result of str.{getattr(__obj, '__name__', '?')}", len(receiver) * factor)
        return super().call(__context, __obj, *args, **kwargs)


def _bounded_filter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _check_numbers(args, kwargs)
        if name == "format" and args:
            _check_format(args[0])
        return fn(*args, **kwargs)

    return bounded


class ConfinedLoader(jinja2.FileSystemLoader):
    """`{% include %}` / `{% import %}` of files inside one folder (the suite's): a name leaving it
    (`..`, an absolute path, a symlink pointing out) is refused, and an included file is bounded."""

    def __init__(self, root: str) -> None:
        super().__init__(root, followlinks=False)
        self.root = Path(root).resolve()

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        target = (self.root / template).resolve()
        if self.root not in target.parents:
            raise TemplateError(f"include {template!r}: only files inside the suite's folder {self.root}")
        hidden = hidden_name(template, target, self.root)
        if hidden is not None:
            raise TemplateError(f"include {template!r}: {hidden_refusal(hidden)}")
        if not target.is_file():
            raise TemplateError(f"include {template!r}: no such file in the suite's folder {self.root}")
        if target.stat().st_size > MAX_TEMPLATE_CHARS:
            raise _too_big(f"the included file {template!r}", target.stat().st_size, MAX_TEMPLATE_CHARS)
        return super().get_source(environment, template)


@functools.lru_cache(maxsize=64)
def _environment(base_dir: str | None = None) -> BoundedSandbox:
    return BoundedSandbox(ConfinedLoader(base_dir) if base_dir is not None else None)


@functools.lru_cache(maxsize=4096)
def compile_template(source: str, base_dir: str | None = None) -> jinja2.Template:
    """The compiled template; a syntax error or an over-long text is a TemplateError. `base_dir`
    (the suite's folder) is where `{% include 'file' %}` reads; without it, include is refused."""
    if len(source) > MAX_TEMPLATE_CHARS:
        raise _too_big("the template text", len(source), MAX_TEMPLATE_CHARS)
    try:
        return _environment(base_dir).from_string(source)
    except jinja2.TemplateSyntaxError as e:
        raise TemplateError(f"template syntax error on its line {e.lineno}: {e.message}") from None
    except (RecursionError, MemoryError):
        raise TemplateError("the template is nested too deeply to compile") from None


_SIMPLE_VAR = re.compile(r"{{\s*([A-Za-z_][A-Za-z0-9_]*)\s*}}")


@functools.lru_cache(maxsize=4096)
def _simple_parts(source: str) -> tuple[str, ...] | None:
    """A template made only of text and `{{ name }}`: its pieces (odd ones are names), else None."""
    if "{%" in source or "{#" in source:
        return None
    parts = tuple(_SIMPLE_VAR.split(source))
    if any("{{" in p or "}}" in p for p in parts[::2]):
        return None
    return parts


def _substitute(parts: tuple[str, ...], variables: dict[str, Any]) -> str | None:
    """`{{ name }}`-only templates over plain values, without jinja2 (the same result, 20x faster)."""
    if not all(name in variables for name in parts[1::2]):
        return None
    values = [variables[name] for name in parts[1::2]]
    if not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in values):
        return None
    out = [parts[0]]
    for i, value in enumerate(values):
        out.append(str(value))
        out.append(parts[2 * i + 2])
    return "".join(out)


def render(source: str, variables: dict[str, Any], *, base_dir: str | None = None) -> str:
    """Render a user template in the sandbox (undefined variables are errors). Plain strings are
    returned as they are. `base_dir`: the folder `{% include %}` reads from (None: include refused).
    Raises TemplateError saying what was wrong, without location."""
    if "{" not in source or ("{{" not in source and "{%" not in source):
        return source
    parts = _simple_parts(source)
    text = _substitute(parts, variables) if parts is not None else None
    if text is None:
        text = _render_sandboxed(source, variables, base_dir)
    if len(text) > MAX_OUTPUT_CHARS:
        raise _too_big("the rendered text", len(text))
    return text


def _render_sandboxed(source: str, variables: dict[str, Any], base_dir: str | None = None) -> str:
    template = compile_template(source, base_dir)
    _range_used.set(0)
    try:
        return "".join(_bounded_output(template.generate(**variables)))
    except TemplateError:
        raise
    except jinja2.TemplateNotFound as e:
        raise TemplateError(f"include {e.name!r}: no such file in the suite's folder") from None

    except jinja2.exceptions.SecurityError as e:
        raise TemplateError(f"not allowed in a template: {e}") from None
    except jinja2.TemplateError as e:
        raise TemplateError(str(e.message or e)) from None
    except RecursionError:
        raise TemplateError("the template recursed too deeply") from None
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as e:
        if isinstance(e, TypeError) and "no loader" in str(e):
            raise TemplateError(
                "{% include %} reads files only in a suite's prompt, system and messages"
            ) from None
        raise TemplateError(f"{type(e).__name__}: {e}") from None


def _bounded_output(pieces: Iterator[str]) -> Iterator[str]:
    size = 0
    for piece in pieces:
        size += len(piece)
        if size > MAX_OUTPUT_CHARS:
            raise _too_big("the rendered text", size)
        yield piece


def render_tree(value: Any, variables: dict[str, Any], *, base_dir: str | None = None) -> Any:
    """Every string in a tree of lists and mappings rendered (assertion specs, message contents)."""
    if isinstance(value, str):
        return render(value, variables, base_dir=base_dir)
    if isinstance(value, dict):
        return {k: render_tree(v, variables, base_dir=base_dir) for k, v in value.items()}
    if isinstance(value, list):
        return [render_tree(v, variables, base_dir=base_dir) for v in value]
    return value
