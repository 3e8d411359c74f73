"""Rewrite the stored `match_key` lines of harness cassettes to the current matcher version.

    python scripts/rekey_cassettes.py cassettes/ examples/

A key stored by an older matcher (`v1-...`) is ignored on load and the request hashed afresh, which
is correct but slower; this script stores the current key instead. Nothing else in a file changes.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from harness.cassettes.matching import Matcher
from harness.cassettes.store import read_cassette_file

_KEY = re.compile(r"(?m)^  match_key: (v\d+-[0-9a-f]+)$")


def rekey(path: Path, matcher: Matcher) -> int:
    """Rewrite one file's keys; returns how many changed."""
    text = path.read_text(encoding="utf-8")
    if "\n  match_key: " not in text:
        return 0  # no stored key (another tool's cassette, or not a cassette at all)
    cassette = read_cassette_file(path)
    keys = iter([matcher.key_of(cassette.interaction(i)).digest for i in range(len(cassette))])
    if len(_KEY.findall(text)) != len(cassette):
        return 0  # not one key per interaction: not a file harness wrote, left alone
    new = _KEY.sub(lambda _: f"  match_key: {next(keys)}", text)
    if new != text:
        path.write_text(new, encoding="utf-8")
    return sum(a != b for a, b in zip(_KEY.findall(text), _KEY.findall(new), strict=True))


def main(roots: list[str]) -> None:
    matcher = Matcher()
    for root in roots:
        for path in sorted(p for p in Path(root).rglob("*.y*ml") if p.is_file()):
            changed = rekey(path, matcher)
            if changed:
                print(f"{path}: {changed} key(s) rewritten")


if __name__ == "__main__":
    main(sys.argv[1:] or ["cassettes"])
