"""The tree shows the architecture: packages own one concern each and import only what they declare.

Each package's `__init__` docstring (and each top-level module's docstring) has a line
`May import: harness.a, harness.b` (or `nothing`); these tests read the real import statements —
function-level ones included — and hold the code to it, so a new dependency is a visible decision.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import harness

ROOT = Path(harness.__file__).parent


def _unit(module: str) -> str:
    """The package or top-level module a dotted module name belongs to (`harness.x.y` -> `x`)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "harness"


def _module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
    return name.removesuffix(".__init__")


def _imports(path: Path) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "harness":
                found += [(f"harness.{alias.name}", node.lineno) for alias in node.names]
            elif node.module.startswith("harness."):
                found.append((node.module, node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.startswith("harness.")]
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            raise AssertionError(f"{path}:{node.lineno}: use absolute imports (harness.…)")
    return found


def _edges() -> dict[str, dict[str, list[str]]]:
    edges: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in ROOT.rglob("*.py"):
        source = _unit(_module_name(path))
        for target, line in _imports(path):
            dest = _unit(target)
            if dest not in (source, "harness"):
                edges[source][dest].append(f"{path.relative_to(ROOT.parent)}:{line}")
    return edges


def _units() -> dict[str, Path]:
    """Every package (its __init__) and top-level module of harness."""
    units = {p.parent.name: p for p in ROOT.glob("*/__init__.py")}
    units.update({p.stem: p for p in ROOT.glob("*.py") if p.stem not in ("__init__", "__main__")})
    return units


def _declared(path: Path) -> set[str] | None:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    match = re.search(r"May import:(.*?)(?:\n\s*\n|\Z)", doc, re.S)
    if match is None:
        return None
    return set(re.findall(r"harness\.(\w+)", match.group(1)))


def test_no_private_modules_at_the_top_level() -> None:
    private = sorted(p.name for p in ROOT.glob("_*.py") if p.name not in ("__init__.py", "__main__.py"))
    assert private == [], f"put these in the package of their concern: {private}"


def test_every_package_says_what_it_owns_and_may_import() -> None:
    undeclared = [name for name, path in _units().items() if _declared(path) is None]
    assert undeclared == [], f"docstrings without a 'May import:' line: {sorted(undeclared)}"


def test_packages_import_only_what_they_declare() -> None:
    units = _units()
    problems = []
    for source, targets in sorted(_edges().items()):
        if source not in units:
            continue
        allowed = _declared(units[source]) or set()
        for dest, where in sorted(targets.items()):
            if dest not in allowed:
                problems.append(
                    f"{source} imports harness.{dest} ({where[0]}) but declares only {sorted(allowed)}"
                )
    assert problems == []


def test_no_import_cycle_between_packages() -> None:
    edges = _edges()
    cycles: list[list[str]] = []

    def walk(node: str, path: list[str]) -> None:
        for nxt in edges.get(node, {}):
            if nxt == path[0]:
                cycles.append([*path, nxt])
            elif nxt not in path and nxt > path[0]:  # each cycle once, from its smallest member
                walk(nxt, [*path, nxt])

    for start in sorted(edges):
        walk(start, [start])
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_every_error_type_lives_in_errors_py_under_harness_error() -> None:
    import inspect

    import harness.errors as errors

    outside = []
    for path in ROOT.rglob("*.py"):
        if path.name == "errors.py" and path.parent == ROOT:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(b, ast.Name) and (b.id.endswith(("Error", "Exception")) or b.id == "Exception")
                for b in node.bases
            ):
                outside.append(f"{path.relative_to(ROOT.parent)}:{node.lineno} {node.name}")
    assert outside == [], "exception classes belong in harness/errors.py"
    classes = [
        c for _, c in inspect.getmembers(errors, inspect.isclass) if c.__module__ in (errors.__name__,)
    ]
    # the one exception: CassetteSignal, the BaseException that carries a miss past SDK retry loops
    assert classes and all(
        issubclass(c, errors.HarnessError)
        for c in classes
        if issubclass(c, BaseException) and c is not errors.CassetteSignal
    )
    # the tree in the docstring names every one of them
    doc = errors.__doc__ or ""
    assert [c.__name__ for c in classes if c.__name__ not in doc] == []
