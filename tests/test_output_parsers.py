from __future__ import annotations

import asyncio

import pydantic
import pytest
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from harness.errors import OutputParserException
from harness.messages.core import AIMessage
from harness.tools.output_parsers import (
    JsonOutputKeyToolsParser,
    JsonOutputParser,
    JsonOutputToolsParser,
    PydanticOutputParser,
    PydanticToolsParser,
    StrOutputParser,
    make_structured_parser,
    parse_json_markdown,
    schema_kind,
    schema_to_json_schema,
)


class Answer(BaseModel):
    """An answer."""

    answer: str = Field(description="The answer")
    score: int = 0


class Movie(TypedDict):
    """A movie.

    Args:
        title: Its title.
    """

    title: str
    year: int


MOVIE_SCHEMA = {
    "title": "Movie",
    "description": "A movie.",
    "type": "object",
    "properties": {"title": {"type": "string"}, "year": {"type": "integer"}},
    "required": ["title", "year"],
}


def tc(name: str, args: dict, id: str = "call_1") -> dict:
    return {"name": name, "args": args, "id": id, "type": "tool_call"}


# --- parse_json_markdown ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        '  {"a": 1}\n',
        '```json\n{"a": 1}\n```',
        '```JSON\n{"a": 1}\n```',
        '```\n{"a": 1}\n```',
        'Here you go:\n```json\n{"a": 1}\n```\nHope that helps!',
        'Sure! The result is {"a": 1} as requested.',
        '```json\n{"a": 1}',  # unterminated fence (truncated reply)
        'Take {this} first, then {"a": 1}.',
    ],
)
def test_parse_json_markdown_tolerates_fences_and_prose(text):
    assert parse_json_markdown(text) == {"a": 1}


def test_parse_json_markdown_arrays_scalars_and_raw_newlines_in_strings():
    assert parse_json_markdown("Result: [1, 2, 3] done") == [1, 2, 3]
    assert parse_json_markdown("42") == 42
    assert parse_json_markdown('{"text": "line1\nline2"}') == {"text": "line1\nline2"}


@pytest.mark.parametrize("text", ["no json here", "", "{broken: json", "The answer is 42."])
def test_parse_json_markdown_failure_names_what_was_received(text):
    with pytest.raises(OutputParserException) as e:
        parse_json_markdown(text)
    msg = str(e.value)
    assert "Invalid JSON output" in msg
    assert (text in msg) if text else ("empty reply" in msg)
    assert e.value.llm_output == text


def test_parse_json_markdown_truncates_long_input():
    text = "x" * 1000
    with pytest.raises(OutputParserException) as e:
        parse_json_markdown(text)
    assert "x" * 200 in str(e.value) and "x" * 201 not in str(e.value)
    assert "1000 chars" in str(e.value)


def test_parse_json_markdown_non_string():
    with pytest.raises(OutputParserException, match="string"):
        parse_json_markdown(None)  # type: ignore[arg-type]


# --- parsers ------------------------------------------------------------------------------------


def test_json_output_parser_parse_and_parse_result():
    p = JsonOutputParser()
    assert p.parse('```json\n{"k": [1]}\n```') == {"k": [1]}
    assert p.parse_result(AIMessage(content='{"k": 2}')) == {"k": 2}
    # list content: only text blocks count
    msg = AIMessage(
        content=[
            {"type": "text", "text": '{"k":'},
            {"type": "reasoning", "reasoning": "hm"},
            {"type": "text", "text": " 3}"},
        ]
    )
    assert p.parse_result(msg) == {"k": 3}
    assert p.parse_result([msg]) == {"k": 3}
    assert p.invoke(msg) == {"k": 3} and p.invoke('{"k": 4}') == {"k": 4}
    assert asyncio.run(p.ainvoke('{"k": 5}')) == {"k": 5}


def test_str_output_parser():
    assert StrOutputParser().invoke(AIMessage(content="hi")) == "hi"


def test_pydantic_output_parser_success_and_failures():
    p = PydanticOutputParser(Answer)
    assert p.parse('```json\n{"answer": "yes", "score": "3"}\n```') == Answer(answer="yes", score=3)
    assert p.parse_result(AIMessage(content='{"answer": "no"}')) == Answer(answer="no")
    with pytest.raises(OutputParserException) as e:
        p.parse('{"score": 1}')
    msg = str(e.value)
    assert msg.startswith('Failed to parse Answer from completion {"score": 1}. Got: ')
    assert "answer" in msg and "Field required" in msg
    assert isinstance(e.value.__cause__, pydantic.ValidationError)
    with pytest.raises(
        OutputParserException, match="^Failed to parse Answer from completion not json. Got: Invalid JSON"
    ):
        p.parse("not json")


def test_pydantic_output_parser_rejects_non_model():
    with pytest.raises(ValueError, match="pydantic model class"):
        PydanticOutputParser(dict)


def test_json_output_tools_parser():
    msg = AIMessage(content="", tool_calls=[tc("a", {"x": 1}, "c1"), tc("b", {"y": 2}, "c2")])
    assert JsonOutputToolsParser().parse_result(msg) == [
        {"type": "a", "args": {"x": 1}},
        {"type": "b", "args": {"y": 2}},
    ]
    assert JsonOutputToolsParser(return_id=True, first_tool_only=True).parse_result(msg) == {
        "type": "a",
        "args": {"x": 1},
        "id": "c1",
    }
    assert JsonOutputToolsParser().parse(msg) == JsonOutputToolsParser().parse_result(msg)
    with pytest.raises(OutputParserException, match="parse_result"):
        JsonOutputToolsParser().parse("text")


def test_tools_parsers_without_tool_call():
    msg = AIMessage(content="I won't call a tool")
    assert JsonOutputToolsParser(first_tool_only=True).parse_result(msg) is None
    assert JsonOutputToolsParser().parse_result(msg) == []
    assert PydanticToolsParser(tools=[Answer], first_tool_only=True).parse_result(msg) is None
    assert PydanticToolsParser(tools=[Answer]).parse_result(msg) == []


def test_invalid_tool_call_raises_output_parser_exception():
    msg = AIMessage(
        content="",
        invalid_tool_calls=[
            {
                "name": "Answer",
                "args": '{"answer": ',
                "id": "c",
                "error": "bad json",
                "type": "invalid_tool_call",
            }
        ],
    )
    with pytest.raises(OutputParserException, match="'Answer'.*bad json"):
        PydanticToolsParser(tools=[Answer], first_tool_only=True).parse_result(msg)


def test_json_output_key_tools_parser():
    msg = AIMessage(content="", tool_calls=[tc("a", {"x": 1}), tc("b", {"y": 2}), tc("b", {"y": 3})])
    assert JsonOutputKeyToolsParser("b").parse_result(msg) == [{"y": 2}, {"y": 3}]
    assert JsonOutputKeyToolsParser("b", first_tool_only=True).parse_result(msg) == {"y": 2}
    assert JsonOutputKeyToolsParser("zzz", first_tool_only=True).parse_result(msg) is None


def test_pydantic_tools_parser():
    class Other(BaseModel):
        n: int

    msg = AIMessage(content="", tool_calls=[tc("Answer", {"answer": "x"}), tc("Other", {"n": "5"})])
    assert PydanticToolsParser(tools=[Answer, Other]).parse_result(msg) == [Answer(answer="x"), Other(n=5)]
    assert PydanticToolsParser(tools=[Answer], first_tool_only=True).parse_result(msg) == Answer(answer="x")
    with pytest.raises(
        OutputParserException, match=r"unknown tool\(s\) \['Other'\]; expected one of \['Answer'\]"
    ):
        PydanticToolsParser(tools=[Answer]).parse_result(msg)
    with pytest.raises(pydantic.ValidationError):
        PydanticToolsParser(tools=[Answer]).parse_result(AIMessage(content="", tool_calls=[tc("Answer", {})]))


# --- structured output helpers ------------------------------------------------------------------


def test_schema_kind():
    assert schema_kind(Answer) == "pydantic"
    assert schema_kind(Movie) == "typeddict"
    assert schema_kind(MOVIE_SCHEMA) == "json_schema"
    assert schema_kind({"name": "f", "parameters": {}}) == "openai_function"
    assert schema_kind({"type": "function", "function": {"name": "f"}}) == "openai_function"
    with pytest.raises(ValueError, match="top-level 'title'.*keys \\['properties', 'type'\\]"):
        schema_kind({"type": "object", "properties": {}})
    with pytest.raises(ValueError, match="got int"):
        schema_kind(3)


def test_schema_to_json_schema_pydantic():
    name, desc, schema = schema_to_json_schema(Answer)
    assert (name, desc) == ("Answer", "An answer.")
    assert schema == {
        "properties": {
            "answer": {"description": "The answer", "type": "string"},
            "score": {"default": 0, "type": "integer"},
        },
        "required": ["answer"],
        "type": "object",
    }
    strict = schema_to_json_schema(Answer, strict=True)[2]
    assert strict["required"] == ["answer", "score"] and strict["additionalProperties"] is False


def test_schema_to_json_schema_typeddict_and_dicts():
    name, desc, schema = schema_to_json_schema(Movie)
    assert (name, desc) == ("Movie", "A movie.")
    assert schema["properties"]["title"] == {"description": "Its title.", "type": "string"}
    assert schema_to_json_schema(MOVIE_SCHEMA) == (
        "Movie",
        "A movie.",
        {k: v for k, v in MOVIE_SCHEMA.items() if k not in ("title", "description")},
    )
    # non-object top-level JSON schema is kept whole
    assert schema_to_json_schema({"title": "Tags", "type": "array", "items": {"type": "string"}}) == (
        "Tags",
        None,
        {"type": "array", "items": {"type": "string"}},
    )
    fn = {
        "name": "f",
        "description": "",
        "parameters": {"type": "object", "properties": {"a": {"type": "string"}}},
    }
    assert schema_to_json_schema(fn) == ("f", None, fn["parameters"])
    assert schema_to_json_schema({"name": "g"}) == ("g", None, {"type": "object", "properties": {}})
    fmt = {"type": "json_schema", "json_schema": {"name": "R", "schema": {"type": "object"}, "strict": True}}
    assert schema_to_json_schema(fmt) == ("R", None, {"type": "object"})


def test_make_structured_parser_function_calling():
    parse = make_structured_parser(Answer, "function_calling")
    msg = AIMessage(content="", tool_calls=[tc("Answer", {"answer": "same"})])
    assert parse(msg) == Answer(answer="same")
    assert parse(AIMessage(content="no tool")) is None
    with pytest.raises(pydantic.ValidationError):
        parse(AIMessage(content="", tool_calls=[tc("Answer", {"score": 1})]))
    # the call to the schema's tool wins over other calls
    other_first = AIMessage(content="", tool_calls=[tc("other", {"q": 1}), tc("Answer", {"answer": "b"})])
    assert parse(other_first) == Answer(answer="b")
    as_dict = make_structured_parser(Movie, "function_calling")
    assert as_dict(AIMessage(content="", tool_calls=[tc("Movie", {"title": "Heat", "year": "x"})])) == {
        "title": "Heat",
        "year": "x",
    }  # dict schemas are not validated


@pytest.mark.parametrize("method", ["json_schema", "json_mode"])
def test_make_structured_parser_json_methods(method):
    parse = make_structured_parser(Answer, method)
    assert parse(AIMessage(content='```json\n{"answer": "ok"}\n```')) == Answer(answer="ok")
    with pytest.raises(OutputParserException, match="^Failed to parse Answer from completion"):
        parse(AIMessage(content='{"wrong": 1}'))
    with pytest.raises(OutputParserException, match="^Failed to parse Answer"):
        parse(AIMessage(content="nope"))
    as_dict = make_structured_parser(MOVIE_SCHEMA, method)
    assert as_dict(AIMessage(content='{"title": "Heat"}')) == {"title": "Heat"}
    with pytest.raises(OutputParserException, match="Invalid JSON output"):
        as_dict(AIMessage(content="nope"))


def test_make_structured_parser_bad_method():
    with pytest.raises(ValueError, match="method must be"):
        make_structured_parser(Answer, "xml")  # type: ignore[arg-type]
