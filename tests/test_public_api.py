"""The public API, pinned (as httpx pins its `__all__`): a name users import never vanishes unnoticed.

Two checks: each public module's `__all__` is exactly the list below, and every
`from harness… import …` line in README.md, docs/ and examples/ imports.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PUBLIC = {
    "harness": ["__version__", "init_chat_model", "tool"],
    "harness.chat_models": ["ConfigurableModel", "infer_provider", "init_chat_model", "parse_model_string"],
    "harness.models": ["ChatModel", "ConfigurableModel", "infer_provider", "init_chat_model", "parse_model_string"],
    "harness.cassettes": [
        "Cassette", "Interaction", "RECORD_MODES", "RecordedRequest", "RecordedResponse",
        "default_record_mode", "load_cassette", "use_cassette",
    ],
    "harness.testing": [
        "EmulatedRequest", "Fault", "ProviderEmulator", "ReceivedRequest", "Reply", "ToolCallSpec",
        "default_reply", "example_from_schema",
    ],
    "harness.pytest_plugin": [
        "NetworkBlockedError", "assert_contains", "assert_matches_schema", "assert_passes", "assert_tool_called",
    ],
    "harness.langchain": [
        "LANGCHAIN_PREFIX", "LangChainChatModel", "from_langchain", "langchain_model", "to_langchain",
        "to_langchain_message", "to_langchain_messages",
    ],
    "harness.runner": ["Cell", "RunOptions", "RunResult", "Runner", "execute_cell", "new_run_id", "run_suite"],
    "harness.report": ["build_report_data", "default_output_path", "embed_json", "render_html", "render_report"],
}  # fmt: skip


def _all(module: str) -> list[str]:
    return sorted(importlib.import_module(module).__all__)


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names_are_pinned(module: str) -> None:
    assert _all(module) == sorted(PUBLIC[module])
    mod = importlib.import_module(module)
    assert [n for n in PUBLIC[module] if not hasattr(mod, n) and getattr(mod, n, None) is None] == []


@pytest.mark.parametrize(
    "module", ["harness.messages", "harness.tools", "harness.suite", "harness.results", "harness.assertions"]
)
def test_every_exported_name_resolves(module: str) -> None:
    mod = importlib.import_module(module)
    assert mod.__all__ and [n for n in mod.__all__ if not hasattr(mod, n)] == []


_IMPORT = re.compile(r"^\s*from (harness[\w.]*) import ([\w, ]+?)\s*(?:#.*)?$", re.M)


def _documented_imports() -> list[tuple[str, str, str]]:
    found = []
    files = [
        ROOT / "README.md",
        *sorted((ROOT / "docs").rglob("*.md")),
        *sorted((ROOT / "examples").rglob("*.py")),
    ]
    for path in files:
        for match in _IMPORT.finditer(path.read_text(encoding="utf-8")):
            for name in match.group(2).split(","):
                if name.strip():
                    found.append((str(path.relative_to(ROOT)), match.group(1), name.strip()))
    return found


def test_every_documented_import_works() -> None:
    imports = _documented_imports()
    assert len(imports) > 20  # the docs do show imports: the pattern still finds them
    broken = []
    for where, module, name in imports:
        try:
            mod = importlib.import_module(module)
        except ImportError as e:
            broken.append(f"{where}: from {module} import {name}: {e}")
            continue
        if not hasattr(mod, name):
            try:
                importlib.import_module(f"{module}.{name}")
            except ImportError:
                broken.append(f"{where}: from {module} import {name}")
    assert broken == []
