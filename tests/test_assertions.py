"""Assertions: each type passing and failing with a readable reason, tool trajectories, python and
pydantic import paths, and the LLM judge over real loopback HTTP (ProviderEmulator)."""

from __future__ import annotations

import asyncio
import json
import textwrap

import pydantic
import pytest

from harness import init_chat_model
from harness.assertions.registry import (
    ASSERTION_TYPES,
    AssertionContext,
    Outcome,
    evaluate,
    evaluate_sync,
    parse_assertions,
    register_embedder,
)
from harness.errors import JudgeError
from harness.messages.core import AIMessage, HumanMessage, ToolMessage
from harness.testing import Reply


def make_ctx(
    text: str = "The capital of France is Paris.",
    *,
    calls: list[dict] | None = None,
    transcript: list | None = None,
    **kw,
) -> AssertionContext:
    tool_calls = [
        {"name": c["name"], "args": c.get("args", {}), "id": f"call_{i}"} for i, c in enumerate(calls or [])
    ]
    msg = AIMessage(
        text,
        tool_calls=tool_calls,
        usage_metadata={"input_tokens": 50, "output_tokens": 10, "total_tokens": 60},
    )
    return AssertionContext.from_message(
        msg, transcript=transcript, case_id="c1", model="openai:gpt-4.1-mini", **kw
    )


def check(spec: dict, ctx: AssertionContext) -> Outcome:
    [outcome] = evaluate_sync([spec], ctx)
    assert outcome.type == spec["type"]
    assert outcome.reason
    return outcome


MOVIE_SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "year": {"type": "integer"}},
    "required": ["title", "year"],
}
TIMING = {"ttft_ms": 80.0, "total_ms": 215.6}
USAGE = {"input_tokens": 120, "output_tokens": 21, "total_tokens": 141}

# (spec, context kwargs, passes?, words the reason must contain)
CASES = [
    ({"type": "equals", "value": "Paris."}, {"text": " Paris.\n"}, True, "equals 'Paris.'"),
    (
        {"type": "equals", "value": "paris."},
        {"text": "Paris."},
        False,
        "expected output to equal 'paris.'; got 'Paris.'",
    ),
    (
        {"type": "equals", "value": "paris.", "ignore_case": True},
        {"text": "Paris."},
        True,
        "case-insensitive",
    ),
    ({"type": "equals", "value": {"a": 1}}, {"text": '```json\n{"a": 1}\n```'}, True, "output JSON equals"),
    ({"type": "equals", "value": 42}, {"text": "41"}, False, "expected output JSON equal to 42; got 41"),
    ({"type": "contains", "value": "Paris"}, {}, True, "output contains 'Paris'"),
    ({"type": "contains", "value": "paris"}, {}, False, "expected output to contain 'paris'; got"),
    ({"type": "icontains", "value": "PARIS"}, {}, True, "(case-insensitive)"),
    (
        {"type": "icontains", "value": "Paris"},
        {"text": "The capital is Lyon."},
        False,
        "expected output to contain 'Paris' (case-insensitive); got 'The capital is Lyon.'",
    ),
    ({"type": "not-contains", "value": "Lyon"}, {}, True, "does not contain 'Lyon'"),
    ({"type": "not-contains", "value": "Paris"}, {}, False, "expected output to not contain 'Paris'"),
    ({"type": "not-icontains", "value": "LYON"}, {}, True, "does not contain"),
    ({"type": "not-icontains", "value": "PARIS"}, {}, False, "to not contain 'PARIS' (case-insensitive)"),
    ({"type": "regex", "value": r"\bpar\w+", "flags": "i"}, {}, True, "matches /\\bpar\\w+/i at 'Paris'"),
    ({"type": "regex", "value": r"^\d+$"}, {}, False, "expected output to match /^\\d+$/"),
    ({"type": "not-regex", "value": r"\d"}, {}, True, "does not match"),
    (
        {"type": "starts-with", "value": "The capital"},
        {"text": "\n The capital is Paris"},
        True,
        "starts with",
    ),
    ({"type": "starts-with", "value": "Paris"}, {}, False, "expected output to start with 'Paris'"),
    ({"type": "is-json"}, {"text": '```json\n{"title": "Inception"}\n```'}, True, "valid JSON (an object)"),
    ({"type": "is-json"}, {"text": 'Sure! {"title": "Inception"}'}, False, "expected output to be JSON"),
    (
        {"type": "json-schema", "schema": MOVIE_SCHEMA},
        {"text": '{"title": "Inception", "year": 2010}'},
        True,
        "output JSON matches the JSON schema",
    ),
    (
        {"type": "json-schema", "schema": MOVIE_SCHEMA},
        {"text": '{"title": "Inception", "year": "2010"}'},
        False,
        "at $.year: '2010' is not of type 'integer'",
    ),
    (
        {"type": "json-schema", "schema": MOVIE_SCHEMA},
        {"text": "", "structured": {"title": "Inception"}},
        False,
        "structured output does not match the JSON schema: at $: 'year' is a required property",
    ),
    ({"type": "json_schema"}, {"structured": {"title": "x"}}, True, "structured output was parsed"),
    ({"type": "json-schema"}, {}, False, "expected parsed structured output"),
    (
        {"type": "tool_called", "name": "get_weather", "args": {"location": "Boston"}},
        {"calls": [{"name": "get_weather", "args": {"location": "Boston", "unit": "c"}}]},
        True,
        "was called (1 time)",
    ),
    (
        {"type": "tool_called", "name": "get_weather", "args": {"location": "Boston"}},
        {"calls": [{"name": "get_weather", "args": {"location": "Tokyo"}}]},
        False,
        'expected a call to get_weather(⊇ {"location": "Boston"}); calls made: get_weather({"location": "Tokyo"})',
    ),
    (
        {"type": "tool_called", "name": "search", "args": {"q": {"filters": {"year": 2010}}}},
        {
            "calls": [
                {"name": "search", "args": {"q": {"text": "x", "filters": {"year": 2010, "lang": "en"}}}}
            ]
        },
        True,
        "was called",
    ),
    (
        {"type": "tool_called", "name": "get_weather", "times": 2},
        {"calls": [{"name": "get_weather"}, {"name": "get_weather"}, {"name": "get_weather"}]},
        False,
        "exactly 2 times; it was called 3",
    ),
    ({"type": "tool_called", "name": "get_weather"}, {}, False, "no tool calls were made"),
    ({"type": "no_tool_calls"}, {}, True, "no tool calls were made"),
    (
        {"type": "no_tool_calls"},
        {"calls": [{"name": "search", "args": {"q": "x"}}]},
        False,
        'expected no tool calls; calls made: search({"q": "x"})',
    ),
    ({"type": "latency", "max_ms": 3000}, {"timing": TIMING}, True, "latency 216 ms <= 3000 ms"),
    (
        {"type": "latency", "max_ms": 100},
        {"timing": TIMING},
        False,
        "latency 216 ms exceeds the maximum 100 ms",
    ),
    ({"type": "ttft", "max_ms": 100}, {"timing": TIMING}, True, "time to first token 80 ms"),
    (
        {"type": "ttft", "max_ms": 50},
        {"timing": {"total_ms": 9.0, "ttft_ms": None}},
        False,
        "time to first token is unknown",
    ),
    (
        {"type": "tokens", "max_total": 200, "max_output": 50},
        {"usage": USAGE},
        True,
        "total tokens 141 <= 200",
    ),
    ({"type": "tokens", "max_input": 100}, {"usage": USAGE}, False, "input tokens 120 > 100"),
    ({"type": "cost", "max_usd": 0.01}, {"cost_usd": 0.000123}, True, "cost $0.000123 <= $0.01"),
    ({"type": "cost", "max_usd": 0.0001}, {"cost_usd": 0.000123}, False, "exceeds the maximum $0.0001"),
    ({"type": "cost", "max_usd": 1}, {}, False, "cost is unknown for model 'openai:gpt-4.1-mini'"),
    ({"type": "similar", "value": "Paris is the capital of France"}, {}, True, "similarity"),
    (
        {"type": "similar", "value": "Tokyo has excellent sushi restaurants"},
        {},
        False,
        "expected similarity >= 0.75",
    ),
]


@pytest.mark.parametrize(
    ("spec", "kw", "passes", "reason"), CASES, ids=[f"{c[0]['type']}-{i}" for i, c in enumerate(CASES)]
)
def test_assertion_passes_or_fails_with_reason(spec, kw, passes, reason):
    outcome = check(spec, make_ctx(**kw))
    assert outcome.passed is passes, outcome.reason
    assert reason in outcome.reason


def test_every_declared_type_is_registered_and_covered():
    names = {
        "equals",
        "contains",
        "icontains",
        "not-contains",
        "not-icontains",
        "regex",
        "starts-with",
        "is-json",
        "json-schema",
        "pydantic",
        "tool_called",
        "tool_trajectory",
        "no_tool_calls",
        "latency",
        "ttft",
        "tokens",
        "cost",
        "python",
        "llm_judge",
        "similar",
    }
    assert names <= set(ASSERTION_TYPES)
    covered = {c[0]["type"] for c in CASES} | {"pydantic", "tool_trajectory", "python", "llm_judge"}
    assert names <= covered


def test_long_output_is_truncated_in_the_reason():
    outcome = check({"type": "contains", "value": "needle"}, make_ctx("hay " * 500))
    assert not outcome.passed
    assert "(2000 chars)" in outcome.reason and len(outcome.reason) < 320


def test_outcome_to_dict_matches_results_record():
    outcome = check({"type": "similar", "value": "The capital of France is Paris."}, make_ctx())
    assert outcome.to_dict() == {"type": "similar", "passed": True, "reason": outcome.reason, "score": 1.0}
    json.dumps(outcome.to_dict())


# --- loading specs ------------------------------------------------------------------------------


def test_parse_assertions_rejects_unknown_type_and_unknown_keys():
    with pytest.raises(pydantic.ValidationError) as e:
        parse_assertions([{"type": "icontain", "value": "x"}])
    assert "icontains" in str(e.value)  # the allowed tags are listed
    with pytest.raises(pydantic.ValidationError, match="Extra inputs are not permitted"):
        parse_assertions([{"type": "contains", "value": "x", "vlaue": "y"}])
    with pytest.raises(pydantic.ValidationError, match="invalid regular expression"):
        parse_assertions([{"type": "regex", "value": "("}])
    with pytest.raises(pydantic.ValidationError, match="at least one of max_input"):
        parse_assertions([{"type": "tokens"}])
    with pytest.raises(pydantic.ValidationError, match="invalid JSON schema"):
        parse_assertions([{"type": "json-schema", "schema": {"type": "objekt"}}])


def test_yaml_numbers_are_accepted_as_text_values():
    [spec] = parse_assertions([{"type": "contains", "value": 2010}])
    assert check({"type": "contains", "value": 2010}, make_ctx("Released in 2010.")).passed
    assert spec.value == "2010"


def test_specs_dump_with_suite_names_and_load_again():
    raw = [
        {"type": "pydantic", "class": "a.b:C"},
        {"type": "json-schema", "schema": {"type": "object"}},
        {"type": "llm-rubric", "value": "polite"},
        {"type": "tool_trajectory", "tools": ["a", {"name": "b"}]},
    ]
    specs = parse_assertions(raw)
    dumped = [s.model_dump() for s in specs]
    assert dumped[0] == {"type": "pydantic", "class": "a.b:C"}
    assert dumped[1] == {"type": "json-schema", "schema": {"type": "object"}}
    assert dumped[2]["rubric"] == "polite"
    assert parse_assertions(dumped) == specs == parse_assertions(specs)


def test_an_invalid_mapping_given_to_evaluate_becomes_an_error_outcome():
    [outcome] = evaluate_sync([{"type": "contains"}], make_ctx())
    assert not outcome.passed and outcome.reason.startswith("error: ValidationError")


# --- tool trajectories --------------------------------------------------------------------------

CALLS = [
    {"name": "search", "args": {"q": "weather"}},
    {"name": "get_weather", "args": {"location": "Boston"}},
    {"name": "get_weather", "args": {"location": "Tokyo"}},
]


@pytest.mark.parametrize(
    ("tools", "order", "passes"),
    [
        (["search", "get_weather", "get_weather"], "strict", True),
        (["get_weather", "search", "get_weather"], "strict", False),
        (["search", "get_weather"], "strict", False),
        (["get_weather", "get_weather", "search"], "unordered", True),
        (["get_weather", "search"], "unordered", False),
        # a greedy pairing would give the Tokyo-call to the bare ref and leave the Tokyo ref unmatched
        (
            [{"name": "get_weather"}, "search", {"name": "get_weather", "args": {"location": "Boston"}}],
            "unordered",
            True,
        ),
        (["search", {"name": "get_weather", "args": {"location": "Tokyo"}}], "subset", True),
        ([{"name": "get_weather", "args": {"location": "Tokyo"}}, "search"], "subset", False),
        (["search", "delete_everything"], "subset", False),
    ],
)
def test_tool_trajectory_modes(tools, order, passes):
    outcome = check({"type": "tool_trajectory", "tools": tools, "order": order}, make_ctx(calls=CALLS))
    assert outcome.passed is passes, outcome.reason
    assert f"({order})" in outcome.reason
    assert 'got [search({"q": "weather"}), get_weather({"location": "Boston"})' in outcome.reason


def test_tool_calls_are_collected_across_the_tool_loop_transcript():
    first = AIMessage(
        "",
        tool_calls=[{"name": "get_weather", "args": {"location": "Boston"}, "id": "a"}],
        usage_metadata={
            "input_tokens": 50,
            "output_tokens": 12,
            "total_tokens": 62,
            "input_token_details": {"cache_read": 20},
        },
    )
    final = AIMessage(
        "It is sunny in Boston.", usage_metadata={"input_tokens": 70, "output_tokens": 9, "total_tokens": 79}
    )
    transcript = [
        HumanMessage("Weather in Boston?"),
        first,
        ToolMessage("sunny", tool_call_id="a", name="get_weather"),
        final,
    ]
    ctx = AssertionContext.from_message(final, transcript=transcript)
    assert ctx.tool_calls == [{"name": "get_weather", "args": {"location": "Boston"}, "id": "a"}]
    assert ctx.usage["input_tokens"] == 120 and ctx.usage["total_tokens"] == 141
    assert ctx.usage["cache_read_tokens"] == 20
    assert check({"type": "tool_trajectory", "tools": ["get_weather"]}, ctx).passed


# --- python and pydantic (import paths) ---------------------------------------------------------


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "my_checks.py").write_text(
        textwrap.dedent("""
        import pydantic

        class Movie(pydantic.BaseModel):
            title: str
            year: int

        def mentions_paris(text, ctx):
            return "Paris" in text

        def with_reason(text, ctx):
            return False, f"{ctx.case_id}: wanted a shorter answer than {len(text)} chars"

        def length_score(text):
            return min(1.0, len(text) / 100)

        async def async_check(text, ctx):
            return {"pass": True, "score": 0.9, "reason": "async says fine"}

        def broken(text, ctx):
            return 1 / 0

        def returns_none(text, ctx):
            return None

        NOT_CALLABLE = 3
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("path", "passes", "reason", "score"),
    [
        ("my_checks:mentions_paris", True, "python check my_checks:mentions_paris returned True", None),
        ("my_checks:with_reason", False, "c1: wanted a shorter answer than 31 chars", None),
        ("my_checks:length_score", False, "scored 0.31 (< threshold 0.5)", 0.31),
        ("my_checks:async_check", True, "async says fine", 0.9),
        ("my_checks.py:mentions_paris", True, "returned True", None),
        ("my_checks:broken", False, "error: ZeroDivisionError: division by zero", None),
        (
            "my_checks:returns_none",
            False,
            "error: python check my_checks:returns_none returned None; expected a bool",
            None,
        ),
        ("my_checks:NOT_CALLABLE", False, "is not a function (it is int)", None),
    ],
)
def test_python_assertion(user_module, path, passes, reason, score):
    outcome = check({"type": "python", "path": path}, make_ctx())
    assert outcome.passed is passes
    assert reason in outcome.reason
    assert outcome.score == score


@pytest.mark.parametrize(
    ("path", "line"),
    [
        (
            "no_such_module:fn",
            "python `path` 'no_such_module:fn': cannot import 'no_such_module' (ModuleNotFoundError: "
            "No module named 'no_such_module'); expected 'package.module:name' or "
            "'path/to/file.py:name'",
        ),
        (
            "my_checks:nope",
            "python `path` 'my_checks:nope': module 'my_checks' has no attribute 'nope'; expected "
            "'package.module:name' or 'path/to/file.py:name'",
        ),
        ("missing.py:fn", "cannot import 'missing.py' (FileNotFoundError: no such file"),
    ],
)
def test_bad_import_path_is_one_clear_error_line(user_module, path, line):
    outcome = check({"type": "python", "path": path}, make_ctx())
    assert not outcome.passed
    assert outcome.reason.startswith("error: ") and "\n" not in outcome.reason
    assert line in outcome.reason


def test_modules_in_the_working_directory_import_as_under_a_console_script(tmp_path, monkeypatch):
    (tmp_path / "cwd_checks.py").write_text(
        "CALLS = []\n"
        "def first(text):\n    CALLS.append(1)\n    return True\n"
        "def second(text):\n    return len(CALLS) == 1\n"
    )
    monkeypatch.chdir(tmp_path)
    # `harness run` is a console script: neither "" nor the working directory is on sys.path
    monkeypatch.setattr("sys.path", [p for p in __import__("sys").path if p not in ("", str(tmp_path))])
    assert check({"type": "python", "path": "cwd_checks:first"}, make_ctx()).passed
    # a file path to the same file loads it once: state set by the first call is seen by the second
    (tmp_path / "file_checks.py").write_text((tmp_path / "cwd_checks.py").read_text())
    outcomes = evaluate_sync(
        [
            {"type": "python", "path": "file_checks.py:first"},
            {"type": "python", "path": "file_checks.py:second"},
        ],
        make_ctx(),
    )
    assert [o.passed for o in outcomes] == [True, True]


def test_malformed_import_path_is_rejected_when_the_suite_loads():
    with pytest.raises(pydantic.ValidationError, match="must look like 'package.module:name'"):
        parse_assertions([{"type": "python", "path": "my_checks.mentions_paris"}])
    with pytest.raises(pydantic.ValidationError, match="pydantic `class` must look like"):
        parse_assertions([{"type": "pydantic", "class": "Movie"}])


def test_pydantic_assertion(user_module):
    spec = {"type": "pydantic", "class": "my_checks:Movie"}
    good = check(spec, make_ctx('```json\n{"title": "Inception", "year": 2010}\n```'))
    assert good.passed and good.reason == "output JSON is a valid Movie"
    bad = check(spec, make_ctx('{"title": "Inception", "year": "twenty ten"}'))
    assert not bad.passed
    assert "output JSON is not a valid Movie: year: Input should be a valid integer" in bad.reason
    assert check(spec, make_ctx("", structured={"title": "Inception", "year": 2010})).passed
    import my_checks  # type: ignore[import-not-found]

    instance = check(spec, make_ctx("", structured=my_checks.Movie(title="Inception", year=2010)))
    assert instance.passed and instance.reason == "structured output is a Movie"
    wrong = check({"type": "pydantic", "class": "my_checks:mentions_paris"}, make_ctx())
    assert not wrong.passed and "not a pydantic BaseModel subclass" in wrong.reason


# --- llm_judge over loopback HTTP ---------------------------------------------------------------


@pytest.fixture
def judge(emulator):
    return init_chat_model("openai:gpt-4.1-mini", base_url=emulator.base_url("openai"), api_key="sk-test")


def test_llm_judge_passes_on_the_judges_verdict(emulator, judge):
    emulator.queue(
        Reply(text='```json\n{"pass": true, "score": 0.9, "reason": "Names Christopher Nolan."}\n```')
    )
    ctx = make_ctx(
        "Inception (2010) was directed by Christopher Nolan.",
        judge=judge,
        transcript=[HumanMessage("Details about Inception")],
    )
    outcome = check({"type": "llm_judge", "rubric": "mentions Christopher Nolan"}, ctx)
    assert outcome.passed and outcome.score == 0.9
    assert outcome.reason == "judge: pass (score 0.9): Names Christopher Nolan."
    [req] = emulator.requests_for("openai")
    sent = json.dumps(req.body)
    assert "mentions Christopher Nolan" in sent and "Details about Inception" in sent
    assert "directed by Christopher Nolan" in sent


def test_llm_judge_fails_with_the_judges_reason(emulator, judge):
    emulator.queue(Reply(text='{"pass": false, "score": 0.1, "reason": "Does not mention the director."}'))
    outcome = check(
        {"type": "llm_judge", "rubric": "mentions Christopher Nolan"},
        make_ctx("Inception is a 2010 film.", judge=judge),
    )
    assert not outcome.passed and outcome.score == 0.1
    assert outcome.reason.startswith("judge: fail (score 0.1): Does not mention the director.; output was")


def test_llm_judge_threshold_decides_on_the_score(emulator, judge):
    emulator.queue(Reply(text='{"pass": true, "score": 0.6, "reason": "Partly."}'))
    outcome = check({"type": "llm_judge", "rubric": "is thorough", "threshold": 0.8}, make_ctx(judge=judge))
    assert not outcome.passed and "(score 0.6, threshold 0.8)" in outcome.reason


def test_llm_judge_reply_that_is_not_json_raises_judge_error(emulator, judge):
    emulator.queue(Reply(text="Looks good to me!"))
    with pytest.raises(JudgeError) as info:
        check({"type": "llm_judge", "rubric": "polite"}, make_ctx(judge=judge))
    assert str(info.value) == (
        'the judge gpt-4.1-mini did not answer with a JSON object {"pass", "score", "reason"}; '
        "it said 'Looks good to me!'"
    )


def test_llm_judge_without_a_judge_fails_clearly():
    outcome = check({"type": "llm_judge", "rubric": "polite"}, make_ctx())
    assert not outcome.passed and "needs a judge model" in outcome.reason


def test_llm_judge_model_error_raises_judge_error(emulator):
    from harness.testing import Fault

    judge = init_chat_model(
        "openai:gpt-4.1-mini", base_url=emulator.base_url("openai"), api_key="sk-test", max_retries=0
    )
    emulator.queue(Fault.http(400, "bad judge request"))
    with pytest.raises(
        JudgeError, match=r"^the judge gpt-4.1-mini could not answer: ModelInvalidRequestError"
    ):
        check({"type": "llm-rubric", "value": "polite"}, make_ctx(judge=judge))


# --- similar ------------------------------------------------------------------------------------


def test_similar_with_a_registered_embedder():
    register_embedder("length", lambda texts: [[len(t), 1.0] for t in texts])
    outcome = check(
        {"type": "similar", "value": "x" * 31, "embedder": "length", "threshold": 0.99}, make_ctx()
    )
    assert outcome.passed and outcome.score == 1.0 and "(length)" in outcome.reason


def test_similar_rejects_an_unknown_embedder_on_load():
    with pytest.raises(pydantic.ValidationError, match="unknown embedder 'bert'; allowed: "):
        parse_assertions([{"type": "similar", "value": "x", "embedder": "bert"}])


def test_similar_sentence_transformers_is_optional():
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        outcome = check(
            {"type": "similar", "value": "Paris", "embedder": "sentence-transformers"}, make_ctx()
        )
        assert not outcome.passed and "pip install sentence-transformers" in outcome.reason
    else:  # pragma: no cover - only where the optional package is installed
        outcome = check(
            {
                "type": "similar",
                "value": "The capital of France is Paris.",
                "embedder": "sentence-transformers",
            },
            make_ctx(),
        )
        assert outcome.passed


# --- running ------------------------------------------------------------------------------------


def test_evaluate_keeps_order_and_never_raises(user_module):
    specs = parse_assertions(
        [
            {"type": "icontains", "value": "paris"},
            {"type": "python", "path": "my_checks:broken"},
            {"type": "no_tool_calls"},
        ]
    )
    outcomes = asyncio.run(evaluate(specs, make_ctx()))
    assert [o.type for o in outcomes] == ["icontains", "python", "no_tool_calls"]
    assert [o.passed for o in outcomes] == [True, False, True]


def test_evaluate_sync_works_inside_a_running_event_loop():
    async def inside():
        return evaluate_sync([{"type": "contains", "value": "Paris"}], make_ctx())

    [outcome] = asyncio.run(inside())
    assert outcome.passed


def test_json_schema_failures_name_each_place_in_the_document_and_what_was_expected():
    schema = {
        "type": "object",
        "required": ["title"],
        "additionalProperties": False,
        "properties": {
            "title": {"type": "string", "minLength": 1},
            "tags": {"type": "array", "items": {"enum": ["a", "b"]}},
            "year": {"anyOf": [{"type": "integer", "minimum": 1900}, {"type": "null"}]},
        },
    }
    spec = {"type": "json-schema", "schema": schema}
    assert check(spec, make_ctx('{"title": "x", "tags": ["a"], "year": null}')).passed
    outcome = check(spec, make_ctx('{"title": "", "tags": ["c"], "year": 1800, "extra": 1}'))
    assert not outcome.passed
    assert outcome.reason.startswith(
        "output JSON does not match the JSON schema: "
        "at $: Additional properties are not allowed ('extra' was unexpected); "
        "at $.tags[0]: 'c' is not one of ['a', 'b']; "
        "at $.title: '' should be non-empty (+1 more); got "
    )
