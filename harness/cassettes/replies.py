"""Reading the reply half of a cassette fragment fast: what replay parses for every call it serves.

A fragment harness wrote is YAML of a fixed, simple shape: block mappings and sequences of plain or
single-quoted scalars, and the response body as a literal block (`string: |-`). PyYAML builds that in
Python one node at a time, most of a replayed call's CPU; here `literal_body` cuts the body out as
text and `parse_simple` reads the rest. Both read only what they are sure YAML would read the same
way, and say so otherwise (`literal_body` returns no body, `parse_simple` returns None), so the
caller falls back to YAML for anything else: a hand-edited file, a quoted key, a timestamp, a comment.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import yaml

_BODY_BLOCK = re.compile(r"\n    body:\n      string: \|([-+]?)\n(?= {8}\S)")
_BLOCK_END = re.compile(r"\n(?= {0,7}\S)")  # a line indented less than the block's, not blank
_ODD_LINE = re.compile(r"\n(?! {8}|\n)")  # a line break followed by neither 8 spaces nor a line break
_DEDENT = re.compile(r"^ {1,8}", re.M)
_YAML_BREAKS = re.compile("[\r\x85\u2028\u2029\ufeff]")  # line breaks and marks YAML reads otherwise


def literal_body(text: str) -> tuple[str, str | None]:
    """`text` with the response body cut out, and the body: a literal block scalar (`string: |-` and
    its lines, as harness writes a body) read by hand. (text, None) when the body is written any other
    way: YAML reads it then."""
    m = _BODY_BLOCK.search(text)
    if m is None:
        return text, None  # not a literal block, or its first line not at the usual indentation
    # the usual block: every line indented by 8 (or empty) up to a less indented key; its first
    # line break not followed by 8 spaces nor another break then ends it, and a plain replace dedents
    odd = _ODD_LINE.search(text, m.end())
    if odd is not None and _BLOCK_END.match(text, odd.start()):
        cut, rest = odd.start(), odd.start() + 1
        lines = text[m.end() + 8 : cut].replace("\n        ", "\n")
    else:
        end = _BLOCK_END.search(text, m.end())
        if end is not None:
            cut, rest = end.start(), end.start() + 1
        else:
            cut = rest = len(text) - text.endswith("\n")
        lines = _DEDENT.sub("", text[m.end() : cut])
    if _YAML_BREAKS.search(lines):
        return text, None
    body = lines.rstrip("\n")
    chomp = m.group(1)
    if chomp == "":  # clip: one line break
        body += "\n"
    elif chomp == "+":  # keep: every trailing line break
        body += "\n" * (len(lines) - len(body) + 1)
    return text[: m.start()] + "\n    body:\n      string: ''\n" + text[rest:], body


_RESOLVER = yaml.resolver.Resolver()  # the safe loader's: which plain scalars are numbers, bools, nulls
_STR, _INT_TAG, _FLOAT_TAG = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[-+]?[0-9]+\.[0-9]*")
_BOOLS = {"true": True, "false": False, "yes": True, "no": False, "on": True, "off": False}
_NOT_PLAIN_START = frozenset("'\"{}[]&*!|>%@`#,?:-")


@functools.lru_cache(maxsize=4096)  # header names and values, status lines: the same few again and again
def _scalar(v: str) -> Any:
    if v[0] == "'":
        if len(v) < 2 or v[-1] != "'" or "'" in v[1:-1].replace("''", ""):
            raise ValueError(v)
        return v[1:-1].replace("''", "'")
    if v[0] in _NOT_PLAIN_START or " #" in v or ": " in v or v[-1] == ":" or "\t" in v:
        raise ValueError(v)
    tag = _RESOLVER.resolve(yaml.ScalarNode, v, (True, False))
    if tag == _STR:
        return v
    if tag == _INT_TAG and _INT.fullmatch(v):
        return int(v)
    if tag == _FLOAT_TAG and _FLOAT.fullmatch(v):
        return float(v)
    if tag == "tag:yaml.org,2002:bool":
        return _BOOLS[v.lower()]
    if tag == "tag:yaml.org,2002:null":
        return None
    raise ValueError(v)  # 0x1f, 1_000, 1:30, .inf, timestamps...: YAML constructs those


def _lines(text: str) -> list[list[Any]]:
    out: list[list[Any]] = []
    for raw in text.split("\n"):
        content = raw.lstrip(" ")
        if not content:
            continue
        if content[0] in "#\t":
            raise ValueError(raw)
        out.append([len(raw) - len(content), content.rstrip(" ")])
    return out


def _is_item(content: str) -> bool:
    return content == "-" or content.startswith("- ")


@functools.lru_cache(maxsize=4096)
def _key(content: str) -> tuple[str, str]:
    if content[0] in _NOT_PLAIN_START:
        raise ValueError(content)
    cut = content.find(": ")
    if cut < 0:
        if content[-1] != ":":
            raise ValueError(content)
        key, rest = content[:-1], ""
    else:
        key, rest = content[:cut], content[cut + 2 :].lstrip(" ")
    if not isinstance(_scalar(key), str) or key != key.rstrip(" "):
        raise ValueError(content)
    return key, rest


def _block(lines: list[list[Any]], i: int) -> tuple[Any, int]:
    indent, content = lines[i]
    return _seq(lines, i, indent) if _is_item(content) else _map(lines, i, indent)


def _seq(lines: list[list[Any]], i: int, indent: int) -> tuple[list[Any], int]:
    items: list[Any] = []
    while i < len(lines) and lines[i][0] == indent and _is_item(lines[i][1]):
        content = lines[i][1]
        rest = content[1:].lstrip(" ")
        if not rest:
            raise ValueError(content)
        if _is_item(rest) or ": " in rest or rest[-1] == ":":  # a collection starting on the dash's line
            lines[i] = [indent + len(content) - len(rest), rest]
            value, i = _block(lines, i)
        else:
            value, i = _scalar(rest), i + 1
        items.append(value)
    return items, i


def _map(lines: list[list[Any]], i: int, indent: int) -> tuple[dict[str, Any], int]:
    out: dict[str, Any] = {}
    while i < len(lines) and lines[i][0] == indent and not _is_item(lines[i][1]):
        key, rest = _key(lines[i][1])
        if key in out:
            raise ValueError(key)
        i += 1
        value: Any = None
        if rest:
            value = _scalar(rest)
        elif i < len(lines) and (lines[i][0] > indent or (lines[i][0] == indent and _is_item(lines[i][1]))):
            value, i = _block(lines, i)
        out[key] = value
    return out, i


def parse_simple(text: str) -> dict[str, Any] | None:
    """The block mapping `text` as Python data, the way YAML's safe loader reads it; None for any
    construct outside the simple shape harness writes (the caller asks YAML then)."""
    try:
        lines = _lines(text)
        value, i = _block(lines, 0) if lines else (None, 0)
    except ValueError:  # raised by the helpers for what they do not take on
        return None
    return value if isinstance(value, dict) and i == len(lines) else None
