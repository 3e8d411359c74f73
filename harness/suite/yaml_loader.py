"""Suite YAML: one parse noting the line of every key and item, and a cache of parsed suite files.

Objects are built straight from the YAML parser's events (no node tree), about 0.7 s for a
10,000-case suite. A successfully validated suite's data and line table are also kept in a small
cache keyed by the file's SHA-256 (`$HARNESS_CACHE_DIR`, default `~/.cache/harness/suites`; set it to
"off" to disable), which makes re-running a big suite start faster still. A changed file has another
hash; a cache entry that fails validation is ignored and the file reparsed.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Any

import orjson
import yaml

from harness.files import write_atomic

CACHE_FORMAT = 5  # 2: lines of tools and structured_output keys; 3: and of prompt/system/messages;
# 4: target; 5: the line table as two lists (keys, lines), written by orjson


_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_DEPTH = 100  # lists and mappings inside each other; far deeper than any real suite
MAX_ALIASED_NODES = 1_000_000  # values repeated through *aliases: bounds "billion laughs" expansions
_COLLECTION_TAGS = (None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
_PLAIN_YAML = "suites are plain YAML: mappings, lists, strings, numbers, booleans and null"


def _shown_tag(tag: str) -> str:
    return "!!" + tag[len("tag:yaml.org,2002:") :] if tag.startswith("tag:yaml.org,2002:") else tag


def _refused(problem: str, mark: Any) -> yaml.constructor.ConstructorError:
    return yaml.constructor.ConstructorError(None, None, problem, mark)


def load_yaml(text: str) -> tuple[Any, dict[int, tuple[int, Any]]]:
    """Parse one YAML document as the safe loader does, noting the line of every mapping key and
    sequence item: {id(mapping): (line, {key: line})}, {id(list): (line, [item lines])}.

    Objects are built straight from the parser's events, so the node tree PyYAML would compose for
    the whole file first (with marks on every node: ~10 KB per case) never exists."""
    loader = _BaseLoader(text)
    builder = _EventBuilder(loader)
    try:
        loader.get_event()  # StreamStart
        if loader.check_event(yaml.StreamEndEvent):
            return None, {}
        loader.get_event()  # DocumentStart
        data = builder.value()
        loader.get_event()  # DocumentEnd
        if not loader.check_event(yaml.StreamEndEvent):
            event: Any = loader.get_event()
            extra: Any = event.start_mark
            raise yaml.composer.ComposerError(
                "expected a single document in the stream", None, "but found another document", extra
            )
        return data, builder.lines
    finally:
        loader.dispose()


class _EventBuilder:
    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.lines: dict[int, tuple[int, Any]] = {}
        self.anchors: dict[str, Any] = {}
        self.depth = 0
        self.nodes = 0  # values built so far, an alias counting as every value it repeats
        self.aliased = 0
        self.sizes: dict[int, int] = {}  # id(collection) -> its nodes, for the aliases that repeat it

    def value(self) -> Any:
        start = self.nodes
        obj = self._value()
        self.nodes += 1
        if isinstance(obj, (list, dict)):
            self.sizes.setdefault(id(obj), self.nodes - start)
        return obj

    def _value(self) -> Any:
        loader = self.loader
        event: Any = loader.get_event()
        mark: Any = event.start_mark  # Any: the C parser's marks are not yaml.Mark to mypy
        if isinstance(event, yaml.AliasEvent):
            if event.anchor not in self.anchors:
                raise yaml.composer.ComposerError(None, None, f"found undefined alias {event.anchor!r}", mark)
            repeated = self.anchors[event.anchor]
            size = self.sizes.get(id(repeated), 1)
            self.nodes += size - 1
            self.aliased += size
            if self.aliased > MAX_ALIASED_NODES:
                raise _refused(f"aliases repeat more than {MAX_ALIASED_NODES:,} values in all", mark)
            return repeated
        if isinstance(event, yaml.ScalarEvent):
            tag = event.tag
            if tag is None or tag == "!":
                tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
            end: Any = event.end_mark
            node = yaml.ScalarNode(tag, event.value, mark, end, event.style)
            construct = loader.yaml_constructors.get(tag)
            if construct is None:
                raise _refused(f"the tag {_shown_tag(str(tag))!r} is not allowed; {_PLAIN_YAML}", mark)
            obj = construct(loader, node)
            if type(obj) is str and len(obj) <= 32:
                obj = sys.intern(obj)  # keys and short values repeat in every case: share one object
        elif (
            getattr(event, "tag", None) not in _COLLECTION_TAGS
        ):  # PyYAML's safe loader would drop it without a word
            raise _refused(f"the tag {_shown_tag(event.tag)!r} is not allowed; {_PLAIN_YAML}", mark)
        elif self.depth >= MAX_DEPTH:
            raise _refused(f"lists and mappings are nested more than {MAX_DEPTH} deep here", mark)
        elif isinstance(event, yaml.SequenceStartEvent):
            self.depth += 1
            obj = []
            item_lines: list[int] = []
            self._anchor(event, obj)
            while not loader.check_event(yaml.SequenceEndEvent):
                item: Any = loader.peek_event()
                item_lines.append(item.start_mark.line + 1)
                obj.append(self.value())
            loader.get_event()
            self.lines[id(obj)] = (mark.line + 1, item_lines)
            self.depth -= 1
            return obj
        elif isinstance(event, yaml.MappingStartEvent):
            self.depth += 1
            data = self._mapping(event)
            self.depth -= 1
            return data
        else:  # pragma: no cover - the parser only yields the events above here
            raise yaml.composer.ComposerError(None, None, f"unexpected {type(event).__name__}", mark)
        self._anchor(event, obj)
        return obj

    def _anchor(self, event: Any, obj: Any) -> None:
        if event.anchor:
            self.anchors[event.anchor] = obj

    def _mapping(self, event: Any) -> dict[Any, Any]:
        loader = self.loader
        data: dict[Any, Any] = {}
        self._anchor(event, data)
        keys: dict[Any, int] = {}
        merges: list[Any] = []
        while not loader.check_event(yaml.MappingEndEvent):
            key_event: Any = loader.peek_event()
            is_merge = (
                isinstance(key_event, yaml.ScalarEvent)
                and key_event.value == "<<"
                and key_event.tag is None
                and key_event.implicit[0]
            )
            if is_merge:  # `<<: *defaults` (or a list of them): merged keys never override own keys
                loader.get_event()
                value = self.value()
                merges.extend(value if isinstance(value, list) else [value])
                continue
            key = self.value()
            value = self.value()
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    event.start_mark,
                    "found unhashable key",
                    key_event.start_mark,
                ) from None
            if key in keys:  # PyYAML keeps the last value: a pasted block would silently win
                raise _refused(
                    f"duplicate key {key!r} (first on line {keys[key]}); a key may appear once in a mapping",
                    key_event.start_mark,
                )
            data[key] = value
            keys[key] = key_event.start_mark.line + 1
        loader.get_event()
        for merged in merges:
            if not isinstance(merged, dict):
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    event.start_mark,
                    "a merge (<<) takes a mapping or a list of mappings",
                    None,
                )
            for k, v in merged.items():
                if k not in data:
                    data[k] = v
                    keys.setdefault(k, event.start_mark.line + 1)
        self.lines[id(data)] = (event.start_mark.line + 1, keys)
        return data


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
    for key in ("models", "judge", "cases", "defaults", "system", "target"):
        line = line_for(data, lines, (key,))
        if line is not None and key in data:
            out[(key,)] = line
    for i, _m in enumerate(data.get("models") or []):
        out[("models", i)] = line_for(data, lines, ("models", i)) or 0
    for i, case in enumerate(data.get("cases") or []):
        out[("cases", i)] = line_for(data, lines, ("cases", i)) or 0
        if isinstance(case, dict):
            for key in ("tools", "structured_output", "prompt", "system", "messages", "target"):
                if key in case:
                    out[("cases", i, key)] = line_for(data, lines, ("cases", i, key)) or 0
            messages = case.get("messages")
            for j in range(len(messages) if isinstance(messages, list) else 0):
                out[("cases", i, "messages", j)] = line_for(data, lines, ("cases", i, "messages", j)) or 0
            for j, _a in enumerate(case.get("assert") or []):
                out[("cases", i, "assert", j)] = line_for(data, lines, ("cases", i, "assert", j)) or 0
            for k, _t in enumerate(case.get("tools") or []):
                out[("cases", i, "tools", k)] = line_for(data, lines, ("cases", i, "tools", k)) or 0
            for key in ("schema", "method"):
                if key in (case.get("structured_output") or {}):
                    loc = ("cases", i, "structured_output", key)
                    out[loc] = line_for(data, lines, loc) or 0
    return out


def _cache_dir() -> Path | None:
    value = os.environ.get("HARNESS_CACHE_DIR")
    if value and value.lower() in ("off", "0", "false", "none"):
        return None
    base = (
        Path(value) if value else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "harness"
    )
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
        entry = orjson.loads(path.read_bytes())
        lines = {tuple(loc): int(line) for loc, line in zip(entry["keys"], entry["lines"], strict=True)}
        return entry["data"], lines
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _json_exact(data: Any) -> bool:
    """True when JSON gives `data` back as it is: str keys, and str / int / finite float / bool / None
    / list / dict values. Walked in place: decoding the encoded suite again to compare would hold a
    second copy of a big suite at the peak of its first parse."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if not all(type(k) is str for k in value):
                return False
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                return False
        elif value is not None and type(value) not in (str, int, bool):
            return False
    return True


def store_parse(text: str, data: Any, lines: dict[tuple[Any, ...], int]) -> None:
    if len(text) < 20_000:
        return
    path = _cache_file(text)
    if path is None:
        return
    try:
        if not _json_exact(data):  # YAML-only types (dates, non-string keys): do not cache
            return
        # bytes straight from orjson, the line table as two flat lists of the objects it already holds:
        # the first parse of a big suite is its peak of memory, and this adds little to it
        write_atomic(path, orjson.dumps({"data": data, "keys": list(lines), "lines": list(lines.values())}))
    except (OSError, TypeError, ValueError, orjson.JSONEncodeError):
        pass  # a cache is an optimisation: never an error (nor an integer orjson cannot write)
