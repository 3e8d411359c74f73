"""Per-model token prices and the cost of a cell.

The packaged table (harness/data/prices.yaml) is merged with a user file in the same format,
which wins model by model: `load_prices("my-prices.yaml")`, or the file named by the
`HARNESS_PRICES` environment variable. Format and matching rules: docs/assertions.md ("Pricing").

May import: `harness.errors`.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from harness.errors import InputError

PACKAGED_PRICES = Path(__file__).parent / "data" / "prices.yaml"
ENV_VAR = "HARNESS_PRICES"
WILDCARD = "*"
_FIELDS = ("input", "output", "cached_input", "cache_write")
T = TypeVar("T")

# After a known model name, what may follow and still be the same model: a dated snapshot or a
# version tag ("-2025-04-14", "-20250929-v1:0", "@20240620", "-001", "-latest", "-preview-05-20",
# "-v2:0", ":latest"). "-mini", "-lite", "-pro" or a single digit ("-5") name a different model.
_SNAPSHOT = re.compile(r"^[-@:_.](\d{3,}|latest\b|preview\b|exp\b|v\d)")
# Cross-region inference profiles put a short region tag before a Bedrock id ("us.anthropic.…").
_REGION = re.compile(r"^[a-z]{2,6}\.(?=[a-z]+\.)")


@dataclass
class Price:
    """USD per million tokens. `cached_input`: cache reads; `cache_write`: cache creation."""

    input: float
    output: float
    cached_input: float | None = None
    cache_write: float | None = None


class PriceTable:
    """Prices by provider, then model name (lower case). Each name's lookup is kept: the table is
    not changed once it has priced a call."""

    def __init__(self, prices: dict[str, dict[str, Price]] | None = None) -> None:
        self.prices: dict[str, dict[str, Price]] = {
            p.lower(): {m.lower(): price for m, price in models.items()}
            for p, models in (prices or {}).items()
        }
        self._found: dict[tuple[str | None, str], Price | None] = {}  # price_for, per name asked

    def __len__(self) -> int:
        return sum(len(m) for m in self.prices.values())

    def __repr__(self) -> str:
        return f"PriceTable({len(self)} models, providers: {', '.join(self.prices)})"

    def merged(self, other: PriceTable) -> PriceTable:
        """A new table: this one with `other`'s entries replacing or adding, model by model."""
        out = PriceTable()
        for src in (self, other):
            for provider, models in src.prices.items():
                out.prices.setdefault(provider, {}).update(models)
        return out

    def price_for(self, provider: str | None, model: str) -> Price | None:
        """The price of `model`: its provider's section first, then any section (an Azure deployment
        or an OpenAI-compatible server named like a known model). In each: exact name, then the
        longest known name the model is a dated snapshot of; the provider's "*" entry applies
        before other sections are searched.

        `provider` may be empty; then a "provider:model" string is split if the prefix is known.
        """
        key = (provider, model)
        if key not in self._found:  # every call of a run or a test session asks again
            self._found[key] = lookup_model(self.prices, provider, model)
        return self._found[key]

    def cost(self, provider: str | None, model: str, usage: dict[str, Any] | None) -> float | None:
        """USD for `usage` (input_tokens incl. cached, output_tokens incl. reasoning,
        cache_read_tokens, cache_creation_tokens). None when the price or the usage is unknown."""
        price = self.price_for(provider, model)
        if price is None or not usage:
            return None
        if usage.get("input_tokens") is None and usage.get("output_tokens") is None:
            return None
        inp = int(usage.get("input_tokens") or 0)
        out = int(usage.get("output_tokens") or 0)
        read = min(int(usage.get("cache_read_tokens") or 0), inp)
        write = min(int(usage.get("cache_creation_tokens") or 0), inp - read)
        fresh = inp - read - write
        total = fresh * price.input + out * price.output
        total += read * (price.cached_input if price.cached_input is not None else price.input)
        total += write * (price.cache_write if price.cache_write is not None else price.input)
        return total / 1_000_000


def lookup_model(sections: dict[str, dict[str, T]], provider: str | None, model: str) -> T | None:
    """The entry of `model` in tables of {provider: {model name (lower case): entry}} (the price
    table, the model profiles): its provider's section first, then any section. In each: exact name,
    then the longest known name the model is a dated snapshot of (a Bedrock region prefix ignored);
    the provider's "*" entry applies before other sections are searched."""
    name = (model or "").strip().lower()
    provider = (provider or "").strip().lower()
    if not provider and ":" in name and name.split(":", 1)[0] in sections:
        provider, name = name.split(":", 1)
    if not name:
        return None
    candidates = [name]
    stripped = _REGION.sub("", name)
    if stripped != name:
        candidates.append(stripped)
    own = sections.get(provider, {})
    for cand in candidates:
        found = own.get(cand) or _snapshot_match(own, cand)
        if found is not None:
            return found
    if WILDCARD in own:  # e.g. every local Ollama model is free, whatever its name
        return own[WILDCARD]
    for section, table in sections.items():
        if section == provider:
            continue
        for cand in candidates:
            found = table.get(cand) or _snapshot_match(table, cand)
            if found is not None:
                return found
    return None


def _snapshot_match(table: dict[str, T], name: str) -> T | None:
    best: str | None = None
    for known in table:
        if (
            known != WILDCARD
            and name.startswith(known)
            and _SNAPSHOT.match(name[len(known) :])
            and (best is None or len(known) > len(best))
        ):
            best = known
    return table[best] if best is not None else None


# --- loading ------------------------------------------------------------------------------------


def load_prices(user_file: str | Path | None = None) -> PriceTable:
    """The packaged price table, overridden by $HARNESS_PRICES, then by `user_file` (same format).

    A malformed user file raises InputError naming the file and line.
    """
    table = parse_prices(PACKAGED_PRICES.read_text(encoding="utf-8"), str(PACKAGED_PRICES))
    for extra in (os.environ.get(ENV_VAR) or None, user_file):
        if extra is None or str(extra).strip() == "":
            continue
        path = Path(extra)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise InputError(f"cannot read the prices file: {e.strerror or e}", path=str(path)) from None
        table = table.merged(parse_prices(text, str(path)))
    return table


def parse_prices(text: str, path: str = "<prices>") -> PriceTable:
    """Parse the prices YAML: {provider: {model: {input, output, cached_input?, cache_write?}}}."""
    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e)
        raise InputError(
            f"invalid YAML: {problem}", path=path, line=mark.line + 1 if mark else None
        ) from None
    if root is None:
        return PriceTable()
    _expect_mapping(root, "the top level must map provider names to their models", path)
    out: dict[str, dict[str, Price]] = {}
    for pkey, pnode in root.value:
        provider = _scalar_key(pkey, path)
        _expect_mapping(pnode, f"provider {provider!r} must map model names to prices", path)
        models = out.setdefault(provider, {})
        for mkey, mnode in pnode.value:
            model = _scalar_key(mkey, path)
            models[model] = _price(mnode, f"{provider}.{model}", path)
    return PriceTable(out)


def _line(node: Any) -> int:
    return int(node.start_mark.line) + 1


def _expect_mapping(node: Any, message: str, path: str) -> None:
    if not isinstance(node, yaml.MappingNode):
        raise InputError(f"{message}; got {_describe(node)}", path=path, line=_line(node))


def _scalar_key(node: Any, path: str) -> str:
    if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
        raise InputError(f"expected a name as key; got {_describe(node)}", path=path, line=_line(node))
    return str(node.value).strip()


def _describe(node: Any) -> str:
    if isinstance(node, yaml.ScalarNode):
        return f"{node.value!r}" if node.value != "" else "an empty value"
    return "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"


def _price(node: Any, where: str, path: str) -> Price:
    allowed = "input, output (required), cached_input, cache_write; USD per million tokens"
    _expect_mapping(node, f"{where}: expected a mapping of {allowed}", path)
    values: dict[str, float] = {}
    for knode, vnode in node.value:
        key = _scalar_key(knode, path)
        if key not in _FIELDS:
            raise InputError(
                f"{where}: unknown key {key!r}; allowed: {allowed}", path=path, line=_line(knode)
            )
        raw = vnode.value if isinstance(vnode, yaml.ScalarNode) else None
        try:
            value = float(raw) if raw is not None and raw != "" else None
        except ValueError:
            value = None
        if value is None or value < 0 or not math.isfinite(value):
            raise InputError(
                f"{where}.{key}: expected a non-negative number (USD per million tokens); got "
                f"{_describe(vnode)}",
                path=path,
                line=_line(vnode),
            )
        values[key] = value
    missing = [k for k in ("input", "output") if k not in values]
    if missing:
        raise InputError(
            f"{where}: missing {' and '.join(missing)}; required: input, output (USD per million tokens)",
            path=path,
            line=_line(node),
        )
    return Price(**values)
