"""Suite files: validation with located one-line errors, case expansion, templates, the JSON schema."""

from __future__ import annotations

import json
import textwrap

import pytest

from harness.errors import SuiteError
from harness.suite.schema import SCHEMA_PATH, schema_text, suite_json_schema
from harness.suite.spec import ModelEntry, load_suite, parse_suite, slugify


def write(tmp_path, text: str, name: str = "suite.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(tmp_path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    message = str(info.value)
    assert "\n" not in message, message
    assert message.startswith(str(path)), message
    return message[len(str(path)) :]


GOOD = """\
    # yaml-language-server: $schema=../harness/suite.schema.json
    name: demo
    models:
      - openai:gpt-4.1-mini
      - {model: "anthropic:claude-haiku-4-5", id: haiku, temperature: 0}
    defaults: {temperature: 0, max_tokens: 300}
    vars: {tone: brief}
    cases:
      - id: capital
        prompt: "Be {{ tone }}. What is the capital of {{ country }}?"
        vars: {country: France}
        tags: [smoke]
        assert:
          - {type: icontains, value: Paris}
          - {type: latency, max_ms: 3000}
      - id: weather
        messages:
          - {role: system, content: "You are a weather bot."}
          - {role: user, content: "Weather in Boston?"}
        tools:
          - name: get_weather
            description: Current weather
            parameters: {type: object, properties: {location: {type: string}}, required: [location]}
            returns: "sunny in {{ location }}"
        assert: [{type: tool_called, name: get_weather, args: {location: Boston}}]
      - id: movie
        prompt: Details about Inception
        stream: true
        structured_output:
          schema: {type: object, properties: {title: {type: string}}, required: [title]}
          method: json_schema
      - id: matrix
        prompt: "{{ a }}+{{ b }}"
        matrix: {a: [1, 2], b: [x, y]}
      - id: rows
        prompt: "Hi {{ name }}"
        vars: [{name: Ann}, {name: Bo}]
"""


def test_a_valid_suite_loads_with_models_cases_and_expansion(tmp_path):
    suite = load_suite(write(tmp_path, GOOD))
    assert suite.name == "demo"
    entries = suite.model_entries
    assert [e.display_id for e in entries] == ["openai:gpt-4.1-mini", "haiku"]
    assert entries[1].params == {"temperature": 0}
    cases = suite.expand()
    ids = [c.id for c in cases]
    assert ids == [
        "capital",
        "weather",
        "movie",
        "matrix[1-x]",
        "matrix[1-y]",
        "matrix[2-x]",
        "matrix[2-y]",
        "rows[Ann]",
        "rows[Bo]",
    ]
    capital = cases[0]
    assert capital.vars == {"tone": "brief", "country": "France"}
    assert capital.messages() == [{"role": "user", "content": "Be brief. What is the capital of France?"}]
    assert cases[1].messages()[0] == {"role": "system", "content": "You are a weather bot."}
    assert cases[3].messages() == [{"role": "user", "content": "1+x"}]
    assert cases[7].vars["name"] == "Ann"
    assert [type(a).__name__ for a in suite.cases[0].assert_][:1] == ["IContains"]
    assert suite.line_of("models", 1) == 5
    assert suite.line_of("cases", 1) == 16


def test_model_entry_accepts_a_string_or_a_mapping():
    assert ModelEntry.coerce("openai:gpt-4.1").display_id == "openai:gpt-4.1"
    entry = ModelEntry.coerce(
        {"model": "openai:gpt-4.1", "id": "gpt", "base_url": "http://x", "use_responses_api": True}
    )
    assert entry.display_id == "gpt"
    assert entry.params == {"base_url": "http://x", "use_responses_api": True}


def test_malformed_yaml_names_the_line(tmp_path):
    msg = error_of(
        tmp_path,
        """\
        name: demo
        cases:
          - id: a
            prompt: "unterminated
          - id: b
        """,
    )
    assert msg.startswith(":6: invalid YAML") or msg.startswith(":5: invalid YAML"), msg
    assert "line 4" in msg


def test_unknown_assertion_type_lists_what_is_allowed(tmp_path):
    msg = error_of(
        tmp_path,
        """\
        name: demo
        cases:
          - id: a
            prompt: hi
            assert:
              - {type: icontains, value: x}
              - {type: icontain, value: Paris}
        """,
    )
    assert msg.startswith(":7: cases[0].assert[1]: unknown assertion type 'icontain'"), msg
    assert "did you mean 'icontains'?" in msg
    assert "allowed:" in msg and "equals" in msg and "llm_judge" in msg


def test_unknown_field_suggests_and_lists_fields(tmp_path):
    msg = error_of(
        tmp_path,
        """\
        name: demo
        cases:
          - id: a
            promt: hi
        """,
    )
    # the first error is the misspelt key (the missing prompt comes from the same mistake)
    assert msg.startswith(":4: cases[0]: unknown field 'promt' (did you mean 'prompt'?); allowed: id,"), msg


def test_a_misspelt_required_field_is_reported_as_the_misspelling(tmp_path):
    msg = error_of(
        tmp_path,
        """\
        name: demo
        cases:
          - id: a
            prompt: hi
            assert:
              - {type: latency, max: 100}
        """,
    )
    # not "missing required field 'max_ms'": the unknown key is what the author has to change
    assert msg.startswith(":6: cases[0].assert[0]: unknown field 'max' (did you mean 'max_ms'?)"), msg


def test_field_errors_name_the_field_and_what_was_received(tmp_path):
    msg = error_of(
        tmp_path,
        """\
        name: demo
        cases:
          - id: a
            messages: [{role: usr, content: hi}]
        """,
    )
    assert msg.startswith(":4: cases[0].messages[0].role: input should be 'system'"), msg
    assert "received 'usr'" in msg
    msg = error_of(
        tmp_path,
        """\
        name: demo
        cases:
          - id: a
            prompt: hi
            max_turns: 0
        """,
    )
    assert msg.startswith(":5: cases[0].max_turns: input should be greater than or equal to 1; received 0"), (
        msg
    )


def test_a_value_fitting_no_shape_of_a_union_names_every_allowed_shape(tmp_path):
    msg = error_of(tmp_path, "name: demo\ncases:\n  - id: a\n    prompt: hi\n    vars: [1, 2]\n")
    assert msg.startswith(":5: cases[0].vars: expected a mapping or a list of mappings; received [1, 2]"), msg
    msg = error_of(tmp_path, "name: demo\ncases:\n  - id: a\n    prompt: hi\n    vars: 3\n")
    assert msg == ":5: cases[0].vars: expected a mapping or a list of mappings; received 3", (
        msg
    )  # one problem
    msg = error_of(tmp_path, "name: demo\nmodels: [12]\ncases:\n  - {id: a, prompt: hi}\n")
    assert msg == ":2: models[0]: expected a string or a mapping; received 12", msg


@pytest.mark.parametrize(
    "body, expected",
    [
        ("  - id: a\n", "a case needs exactly one of 'prompt' or 'messages'"),
        ("  - id: a\n    prompt: x\n  - id: a\n    prompt: y\n", "duplicate case id 'a'"),
        ("  - id: a\n    prompt: x\n    tools: [{name: t}]\n", "a tool needs 'returns'"),
        ("  - id: a\n    prompt: x\n    tools: [{name: t, returns: 1, function: 'm:f'}]\n", "not both"),
    ],
)
def test_semantic_errors(tmp_path, body, expected):
    msg = error_of(tmp_path, "name: demo\ncases:\n" + body)
    assert expected in msg, msg


def test_missing_required_field_and_wrong_top_level(tmp_path):
    assert error_of(tmp_path, "cases:\n  - {id: a, prompt: x}\n").endswith("missing required field 'name'")
    assert "must be a mapping" in error_of(tmp_path, "- a\n- b\n")
    assert "an empty file" in error_of(tmp_path, "")


def test_missing_file_is_a_suite_error(tmp_path):
    with pytest.raises(SuiteError, match="suite file not found"):
        load_suite(tmp_path / "nope.yaml")


def test_parse_suite_from_text_and_slugify():
    suite = parse_suite("name: s\ncases: [{id: a, prompt: hi}]\n", "inline.yaml")
    assert suite.path == "inline.yaml"
    assert slugify("openai:gpt-4.1-mini") == "openai-gpt-4.1-mini"
    assert slugify("capital[France]") == "capital-France"


def test_committed_schema_is_up_to_date():
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "harness/suite.schema.json is stale: run `python -m harness.suite.schema`"
    )


def test_schema_describes_suites_and_assertions():
    schema = suite_json_schema()
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert {"name", "cases"} <= set(schema["required"])
    text = json.dumps(schema)
    assert '"icontains"' in text and '"tool_called"' in text and '"structured_output"' in text


def test_large_suites_are_parsed_once_then_read_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    cases = "".join(
        f"  - {{id: c{i}, prompt: 'Question {{{{ n }}}}', vars: {{n: {i}}}}}\n" for i in range(600)
    )
    path = write(tmp_path, "name: big\nmodels: [openai:gpt-4.1-mini]\ncases:\n" + cases)
    first = load_suite(path)
    entries = list((tmp_path / "cache" / "suites").glob("*.json"))
    assert len(entries) == 1
    second = load_suite(path)
    assert second.model_dump() == first.model_dump() and second.line_of("cases", 599) == 603
    assert second.expand()[599].messages() == [{"role": "user", "content": "Question 599"}]
    entries[0].write_text('{"data": {"name": 1}, "lines": []}')  # a stale or damaged entry is ignored
    assert load_suite(path).model_dump() == first.model_dump()
    monkeypatch.setenv("HARNESS_CACHE_DIR", "off")
    assert load_suite(path).name == "big"


def _documented_yaml():
    import re

    root = SCHEMA_PATH.parent.parent
    for doc in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        for n, block in enumerate(re.findall(r"```yaml\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)):
            yield pytest.param(block, id=f"{doc.name}-{n}")


@pytest.mark.parametrize("block", list(_documented_yaml()))
def test_the_schema_accepts_every_documented_suite_form(block):
    """Every YAML example of the docs that harness accepts, the committed schema accepts too (whole
    suites as they are; `assert:` / `tools:` / `cases:` fragments inside a minimal suite)."""
    import yaml
    from jsonschema import Draft202012Validator

    data = yaml.safe_load(block)
    if not isinstance(data, dict) or not ({"cases", "assert", "tools"} & set(data)):
        pytest.skip("not a suite or a fragment of one (a price file, a comment)")
    if "name" not in data:
        case = {"id": "a", "prompt": "hi", **{k: v for k, v in data.items() if k in ("assert", "tools")}}
        data = {"name": "doc", "judge": data.get("judge"), "cases": data.get("cases") or [case]}
        data = {k: v for k, v in data.items() if v is not None}
    errors = list(Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))).iter_errors(data))
    assert not errors, [f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors]
