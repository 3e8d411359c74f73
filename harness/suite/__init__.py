"""Suite files: strict pydantic models, the located YAML loader, case expansion and templates.

Owns: `spec` (`load_suite`, `parse_suite`; names the models too), `models` (the pydantic models of a
suite file), `expansion` (cases x vars, rendered messages), `yaml_loader` (YAML with line numbers),
`schema` (the committed JSON schema and one-line messages), `templates` (the one sandboxed renderer of
user templates), `datafiles` (`file://` prompts and datasets read beside the suite).
May import: `harness.assertions`, `harness.errors`, `harness.files`, `harness.imports`.
"""

from __future__ import annotations

from harness.suite.spec import (
    Case,
    ExpandedCase,
    MessageSpec,
    ModelEntry,
    StructuredOutputSpec,
    Suite,
    ToolSpec,
    load_suite,
    parse_suite,
    slugify,
)
from harness.suite.templates import compile_template, render, render_tree

__all__ = [
    "ModelEntry",
    "MessageSpec",
    "ToolSpec",
    "StructuredOutputSpec",
    "Case",
    "Suite",
    "ExpandedCase",
    "slugify",
    "compile_template",
    "render",
    "render_tree",
    "load_suite",
    "parse_suite",
]
