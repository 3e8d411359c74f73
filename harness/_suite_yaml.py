"""Suite YAML: one parse noting the line of every key and item, and a cache of parsed suite files.

PyYAML builds Python objects slowly (about 1.6 s for a 10,000-case suite even with the C parser), so
a successfully validated suite's data and line table are kept in a small cache keyed by the file's
SHA-256 (`$HARNESS_CACHE_DIR`, default `~/.cache/harness/suites`; set it to "off" to disable).
A changed file has another hash; a cache entry that fails validation is ignored and the file reparsed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import yaml

CACHE_FORMAT = 1


_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """Safe loader that notes the line of every mapping key and sequence item (one parse, no node tree
    kept: a 10,000-case suite stays cheap)."""

    lines: dict[int, tuple[int, Any]]


def _construct_map(loader: _LineLoader, node: Any) -> Any:
    data: dict[Any, Any] = {}
    yield data
    loader.flatten_mapping(node)
    keys: dict[Any, int] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError("while constructing a mapping", node.start_mark,
                                                    "found unhashable key", key_node.start_mark) from None
        data[key] = loader.construct_object(value_node, deep=True)
        keys[key] = key_node.start_mark.line + 1
    loader.lines[id(data)] = (node.start_mark.line + 1, keys)


def _construct_seq(loader: _LineLoader, node: Any) -> Any:
    data: list[Any] = []
    yield data
    data.extend(loader.construct_object(child, deep=True) for child in node.value)
    loader.lines[id(data)] = (node.start_mark.line + 1, [child.start_mark.line + 1 for child in node.value])


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def load_yaml(text: str) -> tuple[Any, dict[int, tuple[int, Any]]]:
    loader = _LineLoader(text)
    loader.lines = {}
    try:
        return loader.get_single_data(), loader.lines
    finally:
        loader.dispose()


def line_for(data: Any, lines: dict[int, tuple[int, Any]], loc: tuple[Any, ...]) -> int | None:
    """The line of the deepest part of `loc` found in the file; loc items that are not in the file
    (pydantic's union tags and member names) are skipped."""
    entry = lines.get(id(data))
    line = entry[0] if entry else None
    for part in loc:
        entry = lines.get(id(data))
        if entry is None:
            break
        if isinstance(data, dict) and part in data:
            line, data = entry[1].get(part, line), data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            line, data = entry[1][part], data[part]
    return line


def compact_lines(data: dict[str, Any], lines: dict[int, tuple[int, Any]]) -> dict[tuple[Any, ...], int]:
    """Lines of what the runner may still report on after validation: models, judge, cases, assertions."""
    out: dict[tuple[Any, ...], int] = {}
    for key in ("models", "judge", "cases", "defaults"):
        line = line_for(data, lines, (key,))
        if line is not None and key in data:
            out[(key,)] = line
    for i, _m in enumerate(data.get("models") or []):
        out[("models", i)] = line_for(data, lines, ("models", i)) or 0
    for i, case in enumerate(data.get("cases") or []):
        out[("cases", i)] = line_for(data, lines, ("cases", i)) or 0
        if isinstance(case, dict):
            for key in ("tools", "structured_output"):
                if key in case:
                    out[("cases", i, key)] = line_for(data, lines, ("cases", i, key)) or 0
            for j, _a in enumerate(case.get("assert") or []):
                out[("cases", i, "assert", j)] = line_for(data, lines, ("cases", i, "assert", j)) or 0
    return out


def _cache_dir() -> Path | None:
    value = os.environ.get("HARNESS_CACHE_DIR")
    if value and value.lower() in ("off", "0", "false", "none"):
        return None
    base = Path(value) if value else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "harness"
    return base / "suites"


def _cache_file(text: str) -> Path | None:
    directory = _cache_dir()
    if directory is None:
        return None
    digest = hashlib.sha256(f"{CACHE_FORMAT}\0{text}".encode()).hexdigest()
    return directory / f"{digest}.json"


def cached_parse(text: str) -> tuple[Any, dict[tuple[Any, ...], int]] | None:
    """(data, compact line table) of a suite text parsed before, or None."""
    if len(text) < 20_000:  # small suites parse in milliseconds: not worth a file
        return None
    path = _cache_file(text)
    if path is None or not path.is_file():
        return None
    try:
        entry = json.loads(path.read_bytes())
        lines = {tuple(loc): int(line) for loc, line in entry["lines"]}
        return entry["data"], lines
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store_parse(text: str, data: Any, lines: dict[tuple[Any, ...], int]) -> None:
    if len(text) < 20_000:
        return
    path = _cache_file(text)
    if path is None:
        return
    try:
        encoded = json.dumps({"data": data, "lines": [[list(k), v] for k, v in lines.items()]},
                             ensure_ascii=False, separators=(",", ":"))
        if json.loads(encoded)["data"] != data:  # YAML-only types (dates, non-string keys): do not cache
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(encoded, encoding="utf-8")
        os.replace(tmp, path)
    except (OSError, TypeError, ValueError):
        pass  # a cache is an optimisation: never an error
