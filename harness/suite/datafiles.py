"""`file://` values of a suite: texts and datasets read from files beside it, before validation.

    prompt: file://prompts/capital.txt        # a text file (prompt, system, a message's content)
    cases: file://cases.csv                   # .csv (pandas), .jsonl, .yaml/.yml or .json: one case per row
    vars: file://countries.csv                # in a case: one variant per row; in the suite: a mapping

Paths are relative to the suite's folder and must stay inside it. In a tabular `cases` file, the
columns `id`, `description`, `prompt`, `system`, `tags` (comma-separated) and `assert` (YAML or JSON
text: a list of assertions) are those fields; every other column is a variable of the case; empty
cells are left out. A CSV is read as text (no number guessing), so `007` stays `007`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from harness.errors import InputError, SuiteError
from harness.files import confined
from harness.suite.yaml_loader import load_yaml

PREFIX = "file://"
TEXT_FIELDS = ("prompt", "system")
CASE_COLUMNS = ("id", "description", "prompt", "system")
MAX_FILE_BYTES = 50_000_000
MAX_YAML_BYTES = 10_000_000  # a YAML / JSON dataset: parsed whole before its rows can be counted
MAX_ROWS = 100_000  # rows of one dataset file: each is at least one cell, and a run plans 100,000 by default


def has_file_refs(text: str) -> bool:
    return PREFIX in text


def resolve_file_refs(data: dict[str, Any], path: str, line_of: Any) -> Callable[[tuple[Any, ...]], str]:
    """Read the suite's `file://` values into its mapping, in place (so the mappings keep their line
    numbers). `line_of(loc)` locates errors. Returns `where(loc)`: for a location inside a case read
    from a dataset, " (in file://cases.csv, line 3)", else ""; validation errors end with it."""
    folder = Path(path).resolve().parent if Path(path).is_file() else Path.cwd()
    reader = _Reader(folder, path, line_of)
    reader.texts(data, ())
    if _is_ref(data.get("vars")):
        data["vars"] = reader.mapping(data["vars"], ("vars",))
    if _is_ref(data.get("cases")):
        data["cases"] = reader.cases(data["cases"], ("cases",))
    cases = data.get("cases")
    for i, case in enumerate(cases if isinstance(cases, list) else []):
        reader.case(case, ("cases", i))
    return reader.where


def _is_ref(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


class _Reader:
    def __init__(self, folder: Path, path: str, line_of: Any) -> None:
        self.folder, self.path, self.line_of = folder, path, line_of
        self.cases_from: tuple[str, str] | None = None  # (file://..., its suffix) of `cases:`

    def where(self, loc: tuple[Any, ...]) -> str:
        if self.cases_from is None or len(loc) < 2 or loc[0] != "cases" or not isinstance(loc[1], int):
            return ""
        ref, suffix = self.cases_from
        if suffix in (".csv", ".tsv"):
            return f" (in {ref}, line {loc[1] + 2})"  # after the header line
        return f" (in {ref}, {'row' if suffix == '.jsonl' else 'item'} {loc[1] + 1})"

    def _error(self, loc: tuple[Any, ...], message: str) -> SuiteError:
        from harness.suite.expansion import dotted

        return SuiteError(f"{dotted(loc)}: {message}", path=self.path, line=self.line_of(loc))

    def _file(self, ref: str, loc: tuple[Any, ...]) -> Path:
        name = ref[len(PREFIX) :]
        try:
            target = confined(name, self.folder, what="a file:// path", source=self.path, hidden=False)
        except InputError as e:
            raise self._error(loc, str(e).split(": ", 1)[-1]) from None
        if target.is_dir():
            raise self._error(loc, f"{ref}: is a folder; name a file in it (file://{name.rstrip('/')}/...)")
        if not target.is_file():
            raise self._error(
                loc, f"{ref}: no such file (paths are relative to the suite's folder {self.folder})"
            )
        if target.stat().st_size > MAX_FILE_BYTES:
            raise self._error(loc, f"{ref}: larger than the limit of {MAX_FILE_BYTES:,} bytes")
        return target

    def _read_text(self, ref: str, loc: tuple[Any, ...]) -> str:
        try:
            return self._file(ref, loc).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise self._error(loc, f"{ref}: not UTF-8 text") from None

    def texts(
        self, mapping: dict[str, Any], loc: tuple[Any, ...], keys: tuple[str, ...] = TEXT_FIELDS
    ) -> None:
        for key in keys:
            if _is_ref(mapping.get(key)):
                mapping[key] = self._read_text(mapping[key], (*loc, key))

    def rows(self, ref: str, loc: tuple[Any, ...]) -> list[Any]:
        target = self._file(ref, loc)
        suffix = target.suffix.lower()
        try:
            if suffix in (".csv", ".tsv"):
                import pandas as pd

                sep = "\t" if suffix == ".tsv" else ","
                frame = pd.read_csv(target, dtype=str, keep_default_na=False, sep=sep, nrows=MAX_ROWS + 1)
                return self._bounded(
                    [{k: v for k, v in row.items() if v != ""} for row in frame.to_dict("records")], ref, loc
                )
            text = target.read_text(encoding="utf-8")
            if suffix == ".jsonl":
                return self._bounded(_json_lines(text, MAX_ROWS + 1), ref, loc)
            if suffix in (".yaml", ".yml", ".json"):
                if len(text) > MAX_YAML_BYTES:
                    raise self._error(
                        loc,
                        f"{ref}: larger than the limit of {MAX_YAML_BYTES:,} bytes for YAML and JSON; "
                        "a larger dataset can be .jsonl or .csv",
                    )
                data = load_yaml(text)[0]  # the suite's loader: aliases, depth and tags bounded
                return [self._bounded(data, ref, loc) if isinstance(data, list) else data]
        except SuiteError:
            raise
        except RecursionError:
            raise self._error(
                loc, f"{ref}: cannot read it: nested deeper than the JSON reader allows"
            ) from None
        except (ValueError, yaml.YAMLError, UnicodeDecodeError) as e:
            problem = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise self._error(loc, f"{ref}: cannot read it: {problem}") from None
        raise self._error(
            loc, f"{ref}: unknown file type {suffix!r}; allowed: .csv, .tsv, .jsonl, .yaml, .yml, .json"
        )

    def _bounded(self, rows: list[Any], ref: str, loc: tuple[Any, ...]) -> list[Any]:
        if len(rows) > MAX_ROWS:
            raise self._error(
                loc, f"{ref}: more than {MAX_ROWS:,} rows; split the dataset over several suites"
            )
        return rows

    def listed(self, ref: str, loc: tuple[Any, ...], what: str) -> list[dict[str, Any]]:
        rows = self.rows(ref, loc)
        if len(rows) == 1 and isinstance(rows[0], list):  # a YAML / JSON file holding a list
            rows = rows[0]
        for n, row in enumerate(rows, 1):
            if not isinstance(row, dict):
                raise self._error(loc, f"{ref}: {what} {n} is not a mapping; received {type(row).__name__}")
        return rows

    def mapping(self, ref: str, loc: tuple[Any, ...]) -> dict[str, Any]:
        rows = self.rows(ref, loc)
        if len(rows) != 1 or not isinstance(rows[0], dict):
            raise self._error(loc, f"{ref}: the suite's vars must be one mapping (a YAML or JSON file)")
        return rows[0]

    def cases(self, ref: str, loc: tuple[Any, ...]) -> list[dict[str, Any]]:
        self.cases_from = (ref, Path(ref).suffix.lower())
        tabular = ref.lower().endswith((".csv", ".tsv"))
        rows = self.listed(ref, loc, "row")
        return [self._tabular_case(row, ref, loc) for row in rows] if tabular else rows

    def _tabular_case(self, row: dict[str, Any], ref: str, loc: tuple[Any, ...]) -> dict[str, Any]:
        case: dict[str, Any] = {k: row[k] for k in CASE_COLUMNS if k in row}
        if "tags" in row:
            case["tags"] = [t.strip() for t in str(row["tags"]).split(",") if t.strip()]
        if "assert" in row:
            try:
                case["assert"] = load_yaml(row["assert"])[0]
            except yaml.YAMLError:
                raise self._error(
                    loc, f"{ref}: case {row.get('id')!r}: its assert column is not YAML"
                ) from None
        variables = {k: v for k, v in row.items() if k not in (*CASE_COLUMNS, "tags", "assert")}
        if variables:
            case["vars"] = variables
        return case

    def case(self, case: Any, loc: tuple[Any, ...]) -> None:
        if not isinstance(case, dict):
            return
        self.texts(case, loc)
        if _is_ref(case.get("vars")):
            case["vars"] = self.listed(case["vars"], (*loc, "vars"), "row")
        messages = case.get("messages")
        for i, m in enumerate(messages if isinstance(messages, list) else []):
            if isinstance(m, dict):
                self.texts(m, (*loc, "messages", i), ("content",))


def _json_lines(text: str, limit: int) -> list[Any]:
    """One JSON value per non-blank line, at most `limit` of them; a broken one is named by its line in
    the file (json's own message counts within the line)."""
    out: list[Any] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if len(out) >= limit:
            break
        try:
            out.append(json.loads(line))
        except ValueError as e:
            raise ValueError(
                f"line {number}: {getattr(e, 'msg', e)} (column {getattr(e, 'colno', '?')})"
            ) from None
    return out
