"""Synthetic results records (docs/results-record.md) for the HTML report's tests and benchmark.

``write_fixture_runs(tmp)`` writes a small realistic run plus a baseline run; ``synth_records`` makes
large randomised runs for the benchmark.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

XSS = "<script>alert(1)</script><img src=x onerror=alert(1)>"

MODELS = [
    ("openai:gpt-4.1-mini", "gpt-mini", "openai"),
    ("anthropic:claude-sonnet-4-5", "claude-sonnet", "anthropic"),
    ("google:gemini-2.5-flash", "gemini-flash", "google"),
]
PRICES = {"gpt-mini": (0.4e-6, 1.6e-6), "claude-sonnet": (3e-6, 15e-6), "gemini-flash": (0.3e-6, 2.5e-6)}


def _turn(
    content: str, *, inp: int, out: int, ttft: float, total: float, tool_calls=None, reasoning=None
) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": content,
        "reasoning": reasoning,
        "tool_calls": tool_calls or [],
        "usage": {"input_tokens": inp, "output_tokens": out, "total_tokens": inp + out},
        "timing": {"ttft_ms": ttft, "total_ms": total},
    }


def record(
    case_id: str,
    model_index: int,
    *,
    run_id: str = "20261124T063000-3f2a",
    suite: str = "quickstart",
    status: str = "passed",
    text: str = "",
    assertions=None,
    tags=None,
    vars=None,
    system: str | None = "Be brief.",
    user: str = "Hello",
    turns=None,
    structured=None,
    reasoning=None,
    state: str = "replayed",
    error: str | None = None,
    cached: int = 0,
    reasoning_tokens: int = 0,
    repeat: int = 0,
    priced: bool = True,
) -> dict[str, Any]:
    """One results record; ``turns`` (transcript after the input) defaults to a single answer turn."""
    model, model_id, provider = MODELS[model_index]
    inp = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]
    if turns is None:
        turns = (
            []
            if status == "error"
            else [
                _turn(
                    text,
                    inp=40 + len(user) // 4,
                    out=5 + len(text) // 4,
                    ttft=180.0 + 37 * model_index,
                    total=420.0 + 11 * len(text) + 150 * model_index,
                    reasoning=reasoning,
                )
            ]
        )
    in_tok = sum(t.get("usage", {}).get("input_tokens", 0) for t in turns)
    out_tok = sum(t.get("usage", {}).get("output_tokens", 0) for t in turns)
    total_ms = sum(t.get("timing", {}).get("total_ms", 0.0) for t in turns) if turns else None
    ttft = turns[0]["timing"]["ttft_ms"] if turns else None
    pin, pout = PRICES[model_id]
    cost = round(in_tok * pin + out_tok * pout, 8) if priced else None
    last_calls = turns[-1].get("tool_calls") if turns else []
    return {
        "run_id": run_id,
        "suite": suite,
        "case_id": case_id,
        "model": model,
        "model_id": model_id,
        "provider": provider,
        "repeat": repeat,
        "vars": vars or {},
        "tags": tags or [],
        "status": status,
        "assertions": assertions
        if assertions is not None
        else [
            {
                "type": "icontains",
                "passed": status == "passed",
                "reason": "output contains the answer"
                if status == "passed"
                else "output does not contain the expected answer",
                "score": None,
            }
        ],
        "input": inp,
        "output": None
        if status == "error"
        else {
            "text": text,
            "tool_calls": last_calls,
            "structured": structured,
            "reasoning": reasoning,
            "finish_reason": "stop",
        },
        "transcript": inp + turns,
        "usage": {
            "input_tokens": in_tok,
            "output_tokens": out_tok,
            "total_tokens": in_tok + out_tok,
            "cache_read_tokens": cached,
            "cache_creation_tokens": 0,
            "reasoning_tokens": reasoning_tokens,
        },
        "cost_usd": cost,
        "cost_avoided_usd": (cost or 0.0) if state == "replayed" else 0.0,
        "timing": {"ttft_ms": ttft, "total_ms": total_ms, "replayed": state == "replayed"},
        "cassette": {"path": f"cassettes/{suite}/{case_id}/{model.replace(':', '-')}.yaml", "state": state},
        "error": error,
        "started_at": "2026-11-24T06:30:00.123Z",
        "finished_at": "2026-11-24T06:30:01.456Z",
    }


def _weather_turns(m: int, final: str) -> list[dict[str, Any]]:
    call = {"name": "get_weather", "args": {"location": "Boston", "unit": "celsius"}, "id": f"call_{m}"}
    return [
        _turn("", inp=120, out=18, ttft=210.0 + 20 * m, total=380.0 + 40 * m, tool_calls=[call]),
        {
            "role": "tool",
            "content": '{"temp": 21, "sky": "sunny"}',
            "tool_call_id": f"call_{m}",
            "name": "get_weather",
        },
        _turn(final, inp=165, out=14, ttft=150.0 + 10 * m, total=300.0 + 30 * m),
    ]


def current_records() -> list[dict[str, Any]]:
    """The current run: 7 cases × 3 models, one cell errored, one XSS payload, mixed cassette states."""
    recs: list[dict[str, Any]] = []
    answers = ["Paris.", "The capital of France is Paris.", "Paris"]
    for m in range(3):
        recs.append(
            record(
                "capital",
                m,
                text=answers[m],
                tags=["smoke", "geo"],
                vars={"country": "France"},
                user="What is the capital of France?",
                state=["replayed", "recorded", "live"][m],
            )
        )
    for m in range(3):
        final = "It is 21 °C and sunny in Boston." if m != 2 else "Sunny, 21 degrees."
        recs.append(
            record(
                "weather_tool",
                m,
                text=final,
                tags=["tools"],
                user="What's the weather in Boston?",
                turns=_weather_turns(m, final),
                state="replayed",
                assertions=[
                    {
                        "type": "tool_called",
                        "passed": True,
                        "reason": "get_weather was called",
                        "score": None,
                    },
                    {"type": "icontains", "passed": True, "reason": "output mentions sunny", "score": None},
                ],
            )
        )
    for m in range(3):
        ok = m != 1
        person = {"name": "Ada Lovelace", "born": 1815, "fields": ["mathematics", "computing"]}
        if not ok:
            person = {"name": "Ada Lovelace", "born": "1815"}
        recs.append(
            record(
                "extract_person",
                m,
                text=json.dumps(person),
                structured=person,
                tags=["structured"],
                status="passed" if ok else "failed",
                user="Extract: Ada Lovelace, born 1815 ...",
                assertions=[
                    {
                        "type": "json_schema",
                        "passed": ok,
                        "reason": "matches Person schema" if ok else "born: '1815' is not of type 'integer'",
                        "score": None,
                    }
                ],
            )
        )
    for m in range(3):
        recs.append(
            record(
                "reasoning_math",
                m,
                text="17 × 23 = 391",
                tags=["math"],
                reasoning_tokens=220 * (m + 1),
                reasoning="17 × 23 = 17 × 20 + 17 × 3 = 340 + 51 = 391.",
                user="What is 17 × 23?",
                cached=64,
                state="recorded",
            )
        )
    for m in range(3):
        text = f"Here is the HTML you asked for: {XSS}" if m == 0 else "I can't echo raw HTML, sorry."
        recs.append(
            record(
                "xss_echo",
                m,
                text=text,
                tags=["safety"],
                user=f"Echo this: {XSS}",
                vars={"payload": XSS},
                status="failed" if m == 0 else "passed",
                assertions=[
                    {
                        "type": "not_contains",
                        "passed": m != 0,
                        "reason": f"output contains {XSS}" if m == 0 else "no raw HTML",
                        "score": None,
                    }
                ],
            )
        )
    for m in range(3):
        if m == 2:
            recs.append(
                record(
                    "rate_limited",
                    m,
                    status="error",
                    tags=["smoke"],
                    user="Say hi.",
                    state="live",
                    error="ModelRateLimitError: 429 Too Many Requests (retry after 20s)",
                    assertions=[],
                )
            )
        else:
            recs.append(record("rate_limited", m, text="Hi!", tags=["smoke"], user="Say hi."))
    long_text = "\n\n".join(f"Paragraph {i}: the quick brown fox jumps over the lazy dog." for i in range(6))
    for m in range(3):
        ok = m != 2
        recs.append(
            record(
                "long_answer",
                m,
                text=long_text if ok else long_text + " " * 3 + "ERROR",
                status="passed" if ok else "failed",
                tags=["long"],
                user="Write six paragraphs.",
                priced=m != 1,
                assertions=[
                    {
                        "type": "not_contains",
                        "passed": ok,
                        "reason": "no 'ERROR' in output" if ok else "output contains 'ERROR'",
                        "score": None,
                    },
                    {"type": "llm_rubric", "passed": True, "reason": "well structured", "score": 0.85},
                ],
            )
        )
    return recs


def baseline_records() -> list[dict[str, Any]]:
    """The baseline: long_answer×gemini-flash passed (now regressed), extract_person×claude-sonnet failed
    earlier too, weather_tool×claude-sonnet failed (now fixed), reasoning_math×gemini-flash absent (new),
    and a case that was removed since."""
    base = copy.deepcopy(current_records())
    out = []
    for r in base:
        r["run_id"] = "20261123T120000-aaaa"
        key = (r["case_id"], r["model_id"])
        if key == ("reasoning_math", "gemini-flash"):
            continue
        if key == ("long_answer", "gemini-flash"):
            r.update(
                status="passed",
                assertions=[
                    {"type": "not_contains", "passed": True, "reason": "no 'ERROR' in output", "score": None}
                ],
            )
            r["output"]["text"] = r["output"]["text"].replace("ERROR", "").rstrip()
            r["timing"]["total_ms"] = r["timing"]["total_ms"] - 200
        if key == ("weather_tool", "claude-sonnet"):
            r.update(
                status="failed",
                assertions=[
                    {
                        "type": "tool_called",
                        "passed": False,
                        "reason": "get_weather was not called",
                        "score": None,
                    }
                ],
            )
            r["output"]["text"] = "I cannot check the weather."
        if key == ("capital", "gpt-mini"):
            r["output"]["text"] = "The capital is Paris."
        out.append(r)
    out.append(record("dropped_case", 0, run_id="20261123T120000-aaaa", text="old", user="old"))
    return out


def write_run(run_dir: Path, records: list[dict[str, Any]], meta: dict[str, Any] | None = None) -> Path:
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / "results.jsonl").open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    if meta is not None:
        (run_dir / "run.json").write_text(json.dumps(meta), encoding="utf-8")
    return run_dir


def write_fixture_runs(tmp: Path) -> tuple[Path, Path]:
    """(current run dir, baseline run dir) under ``tmp``."""
    cur = write_run(
        Path(tmp) / "run",
        current_records(),
        {
            "run_id": "20261124T063000-3f2a",
            "suite": "quickstart",
            "suite_path": "suites/quickstart.yaml",
            "models": [m[0] for m in MODELS],
            "config": {},
            "started_at": "2026-11-24T06:30:00Z",
            "finished_at": "2026-11-24T06:30:09Z",
            "summary": {},
        },
    )
    base = write_run(
        Path(tmp) / "baseline",
        baseline_records(),
        {"run_id": "20261123T120000-aaaa", "suite": "quickstart", "models": [m[0] for m in MODELS]},
    )
    return cur, base


_WORDS = [
    "the",
    "model",
    "answer",
    "returns",
    "a",
    "concise",
    "summary",
    "of",
    "data",
    "with",
    "several",
    "facts",
    "about",
    "cities",
    "rivers",
    "mountains",
    "history",
    "science",
    "and",
    "numbers",
    "including",
    "dates",
    "names",
    "places",
    "in",
    "plain",
    "English",
]


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n)).capitalize() + "."


def synth_records(n_cases: int, *, n_models: int = 3, seed: int = 7, run_id: str = "bench-run") -> list[dict]:
    """A large realistic run: short prompts and answers, some tool loops, structured outputs, reasoning,
    ~8% failures and ~1% errors."""
    rng = random.Random(seed)
    recs = []
    for c in range(n_cases):
        case_id = f"case_{c:05d}"
        user = _sentence(rng, rng.randint(8, 25)).rstrip(".") + "?"
        tags = rng.sample(
            ["smoke", "geo", "math", "tools", "structured", "long", "safety"], rng.randint(1, 2)
        )
        kind = rng.random()
        for m in range(n_models):
            roll = rng.random()
            status = "error" if roll < 0.01 else "failed" if roll < 0.09 else "passed"
            text = " ".join(_sentence(rng, rng.randint(6, 14)) for _ in range(rng.randint(1, 3)))
            state = rng.choice(["replayed", "replayed", "replayed", "recorded", "live"])
            kw: dict[str, Any] = {}
            if kind < 0.15 and status != "error":
                kw["turns"] = _weather_turns(m, text)
            elif kind < 0.25:
                kw["structured"] = {"answer": text[:40], "confidence": round(rng.random(), 2)}
            elif kind < 0.35:
                kw["reasoning"] = _sentence(rng, rng.randint(10, 30))
                kw["reasoning_tokens"] = rng.randint(50, 400)
            r = record(
                case_id,
                m % len(MODELS),
                run_id=run_id,
                suite="bench",
                status=status,
                text=text,
                tags=tags,
                vars={"i": c},
                user=user,
                state=state,
                error="ModelAPIError: 503 upstream overloaded" if status == "error" else None,
                assertions=None if status != "error" else [],
                **kw,
            )
            if r["timing"]["total_ms"] is not None:
                r["timing"]["total_ms"] = round(r["timing"]["total_ms"] * rng.uniform(0.5, 2.5), 1)
            recs.append(r)
    return recs


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch_chromium(playwright, user_data_dir: str, **context_options):
    """A persistent headless Chromium context (system Chromium, fresh profile directory)."""
    return playwright.chromium.launch_persistent_context(
        user_data_dir, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, **context_options
    )
