"""Cassette files: safe loading of every variant, readable writing, atomic replace under a file lock.

The file harness writes is vcrpy's YAML with `version: 1` before `interactions:`, so each interaction is
one text *fragment* starting with `- ` at column 0. A writer dumps each new interaction once and
rewrites the file by joining fragments, instead of re-dumping the whole cassette per call. Several
processes may record into one file: a writer holds a lock, re-reads the file if someone else changed it
and merges their fragments with its own before replacing the file atomically.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from filelock import FileLock

from harness.cassettes.formats import (
    CassetteEntryError,
    interaction_from_entry,
    interactions_from_data,
    ruby_binary,
    to_record,
)
from harness.cassettes.interaction import Interaction
from harness.cassettes.replies import literal_body, parse_simple
from harness.errors import CassetteFormatError
from harness.files import private_dir, remove_stale_temporaries, write_atomic

_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SafeLoader(_SafeLoader):  # type: ignore[misc,valid-type]
    """The safe loader plus Ruby Psych's `!binary` tag (Ruby VCR writes binary strings with it)."""


SafeLoader.add_constructor("!binary", ruby_binary)
_BaseDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

MARKER = "# harness cassette (vcrpy-compatible; timing/streamed/recorded_at are harness extras)\n"
_HEAD = MARKER + "version: 1\ninteractions:"
_RESPONSE_KEY = "\n  response:\n"
_MATCH_KEY = re.compile(r"^  match_key: (\S+)$", re.M)
_MATCH_LINE = "\n  match_key: "


class _Dumper(_BaseDumper):  # type: ignore[misc,valid-type]
    pass


def _represent_str(dumper: Any, data: str) -> Any:
    # multi-line text as a literal block: readable and diffable; the emitter falls back to quoting when
    # the text cannot be a block (e.g. it holds \r), so the bytes always round-trip exactly
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_fragment(ix: Interaction) -> str:
    """One interaction as the YAML text of a list item (`- request: ...`)."""
    text = yaml.dump(
        [to_record(ix)],
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1 << 30,
    )
    # the emitter closes a document that held a keep-chomped block (`|+`) with `...`; fragments are
    # joined into one document, so drop it
    return text[:-4] if text.endswith("\n...\n") else text


def render(fragments: list[str]) -> str:
    if not fragments:
        return _HEAD + " []\n"
    return _HEAD + "\n" + "".join(fragments)


def stat_key(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


# --- reading -----------------------------------------------------------------------------------------


class CassetteFile:
    """A cassette as read from disk. Files harness wrote are split into per-interaction fragments and
    each is parsed only when first needed (a 10,000-interaction cassette replays without parsing the
    interactions it never plays); other layouts are parsed whole."""

    def __init__(
        self,
        path: Path,
        *,
        text: str = "",
        exists: bool = False,
        stat: tuple[int, int, int] | None = None,
        fragments: list[str] | None = None,
        parsed: list[Interaction] | None = None,
    ) -> None:
        self.path = path
        self.text = text
        self.exists = exists
        self.stat = stat
        self._fragments = fragments
        self._parsed: list[Interaction | None] = (
            list(parsed) if parsed is not None else [None] * len(fragments or [])
        )
        self._first_lines: list[int] | None = None
        self._replies: list[Interaction | None] | None = None

    def __len__(self) -> int:
        return len(self._parsed)

    def interaction(self, i: int) -> Interaction:
        ix = self._parsed[i]
        if ix is None:
            assert self._fragments is not None
            ix = self._parsed[i] = self._parse_fragment(i)
        return ix

    @property
    def interactions(self) -> list[Interaction]:
        return [self.interaction(i) for i in range(len(self))]

    def reply(self, i: int) -> Interaction:
        """What replay needs of interaction i: response, timing, streamed. Parses only the response
        half of a fragment, read by `harness.cassettes.replies` (YAML only for what it does not take
        on); its `request` is an empty placeholder. Kept, so a repeated playback parses nothing."""
        ix = self._parsed[i]
        if ix is not None or self._fragments is None:
            return self.interaction(i)
        if self._replies is None:
            self._replies = [None] * len(self._parsed)
        reply = self._replies[i]
        if reply is not None:
            return reply
        frag = self._fragments[i]
        cut = frag.find(_RESPONSE_KEY)
        if cut < 0:
            return self.interaction(i)
        try:
            # the keys after `request:` are indented by two spaces: on their own, a block mapping
            text, body = literal_body(frag[cut + 1 :])
            data = parse_simple(text)
            if data is None:
                data = yaml.load(text, Loader=SafeLoader)
            if body is not None:
                data["response"]["body"]["string"] = body
            reply = interaction_from_entry({"request": {"method": "?", "uri": "?"}, **data}, i)
        except (yaml.YAMLError, CassetteEntryError, TypeError, KeyError):
            return self.interaction(i)  # raises with file and line
        self._replies[i] = reply
        return reply

    def fragments(self) -> list[str]:
        """The YAML text of each interaction (split from our own files, re-dumped from others)."""
        if self._fragments is None:
            self._fragments = [dump_fragment(ix) for ix in self.interactions]
        return self._fragments

    def stored_keys(self) -> list[str | None]:
        """The `match_key` each interaction was written with, read without parsing the fragments."""
        if self._fragments is None or any(ix is not None for ix in self._parsed):
            return [self.interaction(i).match_key for i in range(len(self))]
        return [_stored_key(frag) for frag in self._fragments]

    def _parse_fragment(self, i: int) -> Interaction:
        assert self._fragments is not None
        frag = self._fragments[i]
        if self._first_lines is None:
            lines, n = [], _HEAD.count("\n") + 2
            for f in self._fragments:
                lines.append(n)
                n += f.count("\n")
            self._first_lines = lines
        try:
            data = yaml.load(frag, Loader=SafeLoader)
            if not isinstance(data, list) or len(data) != 1:
                raise CassetteEntryError("each interaction needs a `request:` and a `response:` mapping", i)
            return interaction_from_entry(data[0], i)
        except (yaml.YAMLError, CassetteEntryError) as e:
            # a hand-edited file may still be valid as a whole even though a fragment is not
            whole = _parse_whole(self.text, self.path)
            if len(whole) == len(self._parsed):
                self._parsed, self._fragments = list(whole), None
                return whole[i]
            if isinstance(e, CassetteEntryError):
                what, offset = str(e), 0
            else:
                what, line_in_fragment = yaml_problem(e, frag)
                offset = (line_in_fragment or 1) - 1
            raise CassetteFormatError(what, path=str(self.path), line=self._first_lines[i] + offset) from None


def _stored_key(frag: str) -> str | None:
    """`_MATCH_KEY.search(frag)`'s key, found faster: the regex tried only where its line starts."""
    at = frag.find(_MATCH_LINE)
    while at >= 0:
        m = _MATCH_KEY.match(frag, at + 1)
        if m is not None:
            return m.group(1)
        at = frag.find(_MATCH_LINE, at + 1)
    return None


def split_fragments(text: str) -> list[str] | None:
    """Fragments of a file harness wrote (None for other layouts)."""
    if not text.startswith(MARKER):
        return None
    if text.startswith(_HEAD + " []"):
        return []
    if not text.startswith(_HEAD + "\n"):
        return None
    rest = text[len(_HEAD) + 1 :]
    if not rest.startswith("- "):
        return None
    # where each line starting with "- " is, by str.find (a regex `^- ` tries every position)
    starts = [0]
    at = rest.find("\n- ")
    while at >= 0:
        starts.append(at + 1)
        at = rest.find("\n- ", at + 1)
    return [rest[a:b] for a, b in zip(starts, [*starts[1:], len(rest)], strict=False)]


def yaml_problem(e: yaml.YAMLError, text: str) -> tuple[str, int | None]:
    """One line saying what is wrong with YAML `text`, and the line (1-based) where, when known."""
    if isinstance(e, yaml.reader.ReaderError):
        return (
            f"not valid YAML: character {chr(e.character)!r} is not allowed (control characters other than "
            "tab and newline cannot appear in YAML)",
            text.count("\n", 0, e.position) + 1,
        )
    if isinstance(e, yaml.MarkedYAMLError):
        mark = e.problem_mark or e.context_mark
        what = f"{e.problem or e.context or 'invalid YAML'}".strip()
        return f"not valid YAML: {what}", mark.line + 1 if mark is not None else None
    return f"not valid YAML: {str(e).splitlines()[0] if str(e) else type(e).__name__}", None


def parse_yaml(text: str, path: Path | str) -> Any:
    try:
        return yaml.load(text, Loader=SafeLoader)
    except yaml.YAMLError as e:
        what, line = yaml_problem(e, text)
        raise CassetteFormatError(what, path=str(path), line=line) from None


def _entry_line(text: str, entry: int | None) -> int | None:
    """Line of the `entry`-th interaction (only computed on the error path)."""
    if entry is None:
        return None
    try:
        root = yaml.compose(text, Loader=SafeLoader)
    except yaml.YAMLError:
        return None
    if not isinstance(root, yaml.MappingNode):
        return 1
    for key, value in root.value:
        if key.value in ("interactions", "http_interactions", "requests") and isinstance(
            value, yaml.SequenceNode
        ):
            if entry < len(value.value):
                return value.value[entry].start_mark.line + 1
            return value.start_mark.line + 1
    return None


def read_cassette_file(path: str | os.PathLike[str]) -> CassetteFile:
    """Load a cassette of any known variant; a missing file is an empty cassette."""
    p = path if isinstance(path, Path) else Path(path)
    try:
        # stat the descriptor we read from, so a concurrent replace cannot pair new stat with old bytes
        with open(p, "rb") as f:
            st = os.fstat(f.fileno())
            raw = f.read()
    except FileNotFoundError:
        return CassetteFile(p)
    except IsADirectoryError:
        raise CassetteFormatError("is a directory, expected a cassette file (.yaml)", path=str(p)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise CassetteFormatError(
            "not UTF-8 text (a compressed cassette? gunzip it first)", path=str(p), line=line
        ) from None
    stat = (st.st_mtime_ns, st.st_size, st.st_ino)
    frags = split_fragments(text)
    if frags is not None:
        return CassetteFile(p, text=text, exists=True, stat=stat, fragments=frags)
    return CassetteFile(p, text=text, exists=True, stat=stat, parsed=_parse_whole(text, p))


def _parse_whole(text: str, path: Path) -> list[Interaction]:
    data = parse_yaml(text, path)
    try:
        return interactions_from_data(data)
    except CassetteEntryError as e:
        raise CassetteFormatError(str(e), path=str(path), line=_entry_line(text, e.entry)) from None


def load_cassette(path: str | os.PathLike[str]) -> list[Interaction]:
    """Interactions of a cassette file in any known variant (vcrpy, pytest-recording, pydantic-ai's
    parsed_body, langchain-aws requests/responses, Ruby VCR). Raises CassetteFormatError (file:line)."""
    p = Path(path)
    if not p.exists():
        raise CassetteFormatError("no such cassette file", path=str(p))
    return read_cassette_file(p).interactions


# --- writing -----------------------------------------------------------------------------------------


def _lock_for(path: Path) -> FileLock:
    # lock files live in a private temp dir, keyed by the cassette's absolute path: no clutter next to cassettes
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:20]
    return FileLock(str(private_dir("harness-cassette-locks") / f"{digest}.lock"))


class CassetteWriter:
    """Keeps one cassette file up to date with this session's new interactions.

    `replace=True` (record modes all/rewrite): interactions that were in the file when the session began
    are dropped on the first write, so no stale interaction survives; ones other processes write during
    the session are kept.
    """

    def __init__(self, path: Path, initial: CassetteFile, *, replace: bool) -> None:
        self.path = path
        self._disk: list[str] = initial.fragments() if initial.exists else []
        self._stale: set[str] = set(self._disk) if replace else set()
        self._stat = initial.stat
        self._lock = _lock_for(path)

    def save(self, mine: list[str], check: Callable[[bytes], str | None]) -> str | None:
        """Write others' interactions then `mine` (this session's, in request order). `check` vets the
        exact bytes before they reach disk: what it returns refuses the write and is returned."""
        with self._lock:
            st = stat_key(self.path)
            if st != self._stat:
                self._disk = read_cassette_file(self.path).fragments() if st is not None else []
            own = set(mine)
            others = [f for f in self._disk if f not in own and f not in self._stale]
            fragments = others + mine
            data = render(fragments).encode("utf-8")
            problem = check(data)
            if problem is not None:
                return problem
            remove_stale_temporaries(self.path)
            write_atomic(self.path, data)
            self._disk = fragments
            self._stat = stat_key(self.path)
        return None


def rewrite(path: Path, keep: Callable[[str], bool]) -> tuple[int, int]:
    """Atomically keep only the interactions whose fragment `keep` accepts. Returns (kept, removed)."""
    with _lock_for(path):
        frags = read_cassette_file(path).fragments()
        kept = [f for f in frags if keep(f)]
        if len(kept) != len(frags):
            write_atomic(path, render(kept).encode("utf-8"))
    return len(kept), len(frags) - len(kept)
