"""Dict-level helpers behind `harness.messages.core` (import them from there).

Chunk merging as LangChain sums chunks (LangChain's `merge_content`, `merge_lists`,
`merge_dicts`), usage arithmetic and partial JSON. Nothing here mutates its inputs.
"""

from __future__ import annotations

import json
import re
from typing import Any

# string keys that are kept once (not concatenated) when both sides are equal
_KEEP_EQUAL_STR = frozenset({"id", "output_version", "model_provider"})
# int keys where the right value wins instead of being summed
_LAST_WINS_INT = frozenset({"index", "created", "timestamp"})


def merge_dicts(left: dict[str, Any], *others: dict[str, Any]) -> dict[str, Any]:
    """Merge dicts key by key: strings concatenate, ints sum, dicts recurse, lists `merge_lists`."""
    merged = dict(left)
    for right in others:
        for k, rv in right.items():
            if rv is None:
                if k not in merged:
                    merged[k] = None
                continue
            lv = merged.get(k)
            if lv is None:
                merged[k] = rv
            elif type(lv) is not type(rv):
                raise TypeError(
                    f'additional_kwargs["{k}"] already exists in this message, but with a different type.'
                )
            elif isinstance(lv, str):
                if (k == "index" and lv.startswith("lc_")) or (k in _KEEP_EQUAL_STR and lv == rv):
                    continue
                merged[k] = lv + rv
            elif isinstance(lv, dict):
                merged[k] = merge_dicts(lv, rv)
            elif isinstance(lv, list):
                merged[k] = merge_lists(lv, rv)
            elif lv == rv:
                continue
            elif isinstance(lv, bool):
                raise TypeError(f'additional_kwargs["{k}"] has conflicting boolean values {lv!r} and {rv!r}.')
            elif isinstance(lv, int):
                merged[k] = rv if k in _LAST_WINS_INT else lv + rv
            else:
                raise TypeError(
                    f"Additional kwargs key {k} already exists in left dict and value has "
                    f"unsupported type {type(lv)}."
                )
    return merged


def _mergeable_index(e: Any) -> bool:
    if not isinstance(e, dict) or "index" not in e:
        return False
    idx = e["index"]
    return isinstance(idx, int) or (isinstance(idx, str) and idx.startswith("lc_"))


def merge_lists(left: list | None, *others: list | None) -> list | None:
    """Concatenate lists, merging dict elements that share an `index` (and have no conflicting `id`)."""
    merged = list(left) if left is not None else None
    for other in others:
        if other is None:
            continue
        if merged is None:
            merged = list(other)
            continue
        for e in other:
            if not _mergeable_index(e):
                merged.append(e)
                continue
            idx, rid = e["index"], e.get("id")
            pos = -1
            for i, le in enumerate(merged):
                if isinstance(le, dict) and "index" in le and le["index"] == idx:
                    lid = le.get("id")
                    if not lid or not rid or lid == rid:
                        pos = i
                        break
            if pos < 0:
                merged.append(e)
                continue
            target = merged[pos]
            if e.get("type") == "non_standard" and "value" in e and target.get("type"):
                value = {k: v for k, v in e["value"].items() if k != "type"}
                if target["type"] != "non_standard":
                    new_e: dict[str, Any] = {"extras": value}
                else:
                    new_e = {"value": value, "index": idx}
            elif "type" in e:
                new_e = {k: v for k, v in e.items() if k != "type"}
            else:
                new_e = e
            merged[pos] = merge_dicts(target, new_e)
    return merged


def merge_content(first: str | list, *contents: str | list) -> str | list:
    """Merge message contents (str + str concatenates; lists merge by `index`)."""
    merged: str | list = first
    copied = False  # we own `merged` once it is a fresh list
    for content in contents:
        if isinstance(merged, str):
            if isinstance(content, str):
                merged += content
            else:
                merged = [merged, *content] if merged else list(content)
                copied = True
        elif isinstance(content, list):
            merged = merge_lists(merged, content) or []
            copied = True
        elif content == "":
            continue
        else:
            if not copied:
                merged, copied = list(merged), True
            if merged and isinstance(merged[-1], str):
                merged[-1] += content
            else:
                merged.append(content)
    return merged


# --- usage -------------------------------------------------------------------------------------

_ZERO_USAGE = (("input_tokens", 0), ("output_tokens", 0), ("total_tokens", 0))


def _dict_int_op(left: dict, right: dict, op: Any, depth: int = 0) -> dict:
    if depth > 100:
        raise ValueError("usage dict nested too deeply")
    out: dict[str, Any] = {}
    for k in (*left, *(k for k in right if k not in left)):
        lv, rv = left.get(k), right.get(k)
        if isinstance(lv, dict) or isinstance(rv, dict):
            if not isinstance(lv, (dict, type(None))) or not isinstance(rv, (dict, type(None))):
                raise ValueError(
                    f"Unknown value types: {[type(lv), type(rv)]}. Only dict and int values are supported."
                )
            out[k] = _dict_int_op(lv or {}, rv or {}, op, depth + 1)
        elif lv is None and rv is None:
            continue
        elif isinstance(lv, (int, float, type(None))) and isinstance(rv, (int, float, type(None))):
            out[k] = op(lv or 0, rv or 0)
        else:
            raise ValueError(
                f"Unknown value types: {[type(lv), type(rv)]}. Only dict and int values are supported."
            )
    return out


def add_usage(left: dict | None, right: dict | None) -> dict:
    """Sum two `UsageMetadata` dicts leaf by leaf (missing = 0). One empty → the other unchanged."""
    if not (left or right):
        return dict(_ZERO_USAGE)
    if not (left and right):
        return left or right  # type: ignore[return-value]
    return _dict_int_op(left, right, _add)


def subtract_usage(left: dict | None, right: dict | None) -> dict:
    """`max(left - right, 0)` leaf by leaf. One empty → the other unchanged (as LangChain does)."""
    if not (left or right):
        return dict(_ZERO_USAGE)
    if not (left and right):
        return left or right  # type: ignore[return-value]
    return _dict_int_op(left, right, _sub_floor)


def _add(a: int, b: int) -> int:
    return a + b


def _sub_floor(a: int, b: int) -> int:
    return max(a - b, 0)


# --- partial JSON ------------------------------------------------------------------------------

_DECODER = json.JSONDecoder(strict=False)
_STRICT_DECODER = json.JSONDecoder()
_SPECIAL = re.compile(r'[\[\]{}"\\]')
_CLOSER = {"{": "}", "[": "]"}


def parse_partial_json(s: str, *, strict: bool = False) -> Any:
    """Parse JSON that may be cut off: unterminated strings, objects and arrays are closed.

    `'{"a": "unterm'` → `{"a": "unterm"}`. Returns None on a mismatched closing bracket; raises
    `json.JSONDecodeError` when nothing sensible can be recovered.
    """
    decode = _STRICT_DECODER.decode if strict else _DECODER.decode
    try:
        return decode(s)
    except json.JSONDecodeError:
        pass
    stack: list[str] = []
    in_str = False
    escaped_at = -1
    for m in _SPECIAL.finditer(s):
        c, pos = m.group(), m.start()
        if in_str:
            if pos == escaped_at:
                continue
            if c == "\\":
                escaped_at = pos + 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c in _CLOSER:
            stack.append(_CLOSER[c])
        elif c in "}]":
            if stack and stack[-1] == c:
                stack.pop()
            else:
                return None
    body = s
    if in_str:
        if escaped_at == len(s):  # drop a dangling backslash
            body = body[:-1]
        body += '"'
    if strict:  # the strict decoder refuses raw newlines inside strings
        body = _escape_newlines_in_strings(body)
    closers = "".join(reversed(stack))
    for end in range(len(body), 0, -1):
        try:
            return decode(body[:end] + closers)
        except json.JSONDecodeError:
            continue
    return decode(s)


def _escape_newlines_in_strings(s: str) -> str:
    out, in_str, esc = [], False, False
    for ch in s:
        if in_str:
            if ch == '"' and not esc:
                in_str = False
            elif ch == "\n" and not esc:
                ch = "\\n"
            esc = ch == "\\" and not esc
        elif ch == '"':
            in_str = True
        out.append(ch)
    return "".join(out)
