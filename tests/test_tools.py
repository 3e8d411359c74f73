from __future__ import annotations

import asyncio
import threading
from typing import Annotated, Any, Literal, Optional

import pydantic
import pytest
from pydantic import BaseModel, Field
from typing_extensions import NotRequired, TypedDict

from harness.errors import ToolException
from harness.messages.core import ToolMessage
from harness.tools.signatures import parse_google_docstring
from harness.tools.tool import (
    BaseTool,
    StructuredTool,
    convert_to_json_schema,
    convert_to_openai_function,
    convert_to_openai_tool,
    tool,
)


def get_weather(city: str, units: Literal["c", "f"] = "c", days: Optional[int] = None) -> str:
    """Get the weather for a city.

    Longer description paragraph.

    Args:
        city: The city name.
        units: Temperature units, either c or f.
        days: Number of days.
    """
    return f"{city}:{units}:{days}"


GET_WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather for a city. Longer description paragraph.",
        "parameters": {
            "properties": {
                "city": {"description": "The city name.", "type": "string"},
                "units": {
                    "default": "c",
                    "description": "Temperature units, either c or f.",
                    "enum": ["c", "f"],
                    "type": "string",
                },
                "days": {
                    "anyOf": [{"type": "integer"}, {"type": "null"}],
                    "default": None,
                    "description": "Number of days.",
                },
            },
            "required": ["city"],
            "type": "object",
        },
    },
}


def call(name: str, args: dict, id: str | None = "call_1") -> dict:
    return {"name": name, "args": args, "id": id, "type": "tool_call"}


# --- convert_to_openai_tool dispatch ------------------------------------------------------------


def test_spec_get_weather_example_exact():
    assert convert_to_openai_tool(get_weather) == GET_WEATHER_TOOL


def test_convert_to_openai_function_is_the_inner_function_and_strict_none_adds_no_key():
    fn = convert_to_openai_function(get_weather)
    assert fn == GET_WEATHER_TOOL["function"]
    assert "strict" not in fn


def test_convert_to_json_schema_reshapes_function():
    schema = convert_to_json_schema(get_weather)
    params = GET_WEATHER_TOOL["function"]["parameters"]
    assert schema == {
        "title": "get_weather",
        "description": "Get the weather for a city. Longer description paragraph.",
        **params,
    }


@pytest.mark.parametrize(
    "builtin",
    [
        {"type": "web_search_preview"},
        {"type": "web_search_preview_2025_03_11"},
        {"type": "file_search", "vector_store_ids": ["v"]},
        {"type": "code_interpreter", "container": {"type": "auto"}},
        {"type": "mcp", "server_label": "x"},
        {"type": "function", "function": {"name": "f", "parameters": {}}},
    ],
)
def test_openai_builtin_tool_dicts_are_returned_unchanged(builtin):
    assert convert_to_openai_tool(builtin) is builtin


def test_anthropic_tool_dict():
    schema = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
    out = convert_to_openai_tool({"name": "search", "description": "Search.", "input_schema": schema})
    assert out == {
        "type": "function",
        "function": {"name": "search", "parameters": schema, "description": "Search."},
    }


def test_bedrock_tool_spec_dict():
    schema = {"type": "object", "properties": {"q": {"type": "string"}}}
    out = convert_to_openai_function(
        {"toolSpec": {"name": "s", "description": "d", "inputSchema": {"json": schema}}}
    )
    assert out == {"name": "s", "description": "d", "parameters": schema}


def test_openai_function_dict_keeps_only_known_keys():
    out = convert_to_openai_function(
        {"name": "f", "description": "d", "parameters": {"type": "object"}, "strict": False, "extra": 1}
    )
    assert out == {"name": "f", "description": "d", "parameters": {"type": "object"}, "strict": False}


def test_openai_tool_dict_unwrapped_by_convert_to_openai_function():
    out = convert_to_openai_function({"type": "function", "function": {"name": "f", "parameters": {}}})
    assert out == {"name": "f", "parameters": {}}


def test_json_schema_dict_with_title():
    schema = {
        "title": "Person",
        "description": "A person.",
        "type": "object",
        "properties": {"name": {"type": "string", "title": "Name"}},
    }
    out = convert_to_openai_function(schema)
    assert out == {
        "name": "Person",
        "description": "A person.",
        "parameters": {"type": "object", "properties": {"name": {"type": "string", "title": "Name"}}},
    }
    assert schema["title"] == "Person"  # input not mutated
    # without properties: no parameters
    assert convert_to_openai_function({"title": "Empty", "type": "object"}) == {"name": "Empty"}


def test_schema_like_dict_without_title_is_rejected_clearly():
    with pytest.raises(ValueError, match="top-level 'title'") as e:
        convert_to_openai_tool({"type": "object", "properties": {}})
    assert "properties" in str(e.value)  # names what was received


def test_unsupported_object_error_names_accepted_and_received():
    with pytest.raises(ValueError) as e:
        convert_to_openai_tool(42)
    msg = str(e.value)
    assert "int 42" in msg and "pydantic model" in msg and "TypedDict" in msg


class Address(BaseModel):
    """A postal address."""

    street: str = Field(description="Street and number")
    city: str


class Person(BaseModel):
    """A person."""

    title: str = Field(description="Honorific")
    name: str
    address: Address
    tags: list[str] = []


def test_pydantic_class_refs_dereferenced_titles_removed():
    out = convert_to_openai_function(Person)
    assert out["name"] == "Person"
    assert out["description"] == "A person."
    params = out["parameters"]
    assert "$defs" not in params and "title" not in params
    assert params["properties"]["title"] == {
        "description": "Honorific",
        "type": "string",
    }  # property named title kept
    addr = params["properties"]["address"]
    assert "$ref" not in addr
    assert addr["properties"] == {
        "street": {"description": "Street and number", "type": "string"},
        "city": {"type": "string"},
    }
    assert addr["description"] == "A postal address."
    assert params["required"] == ["title", "name", "address"]
    assert params["properties"]["tags"] == {"default": [], "items": {"type": "string"}, "type": "array"}


def test_title_keys_inside_default_values_are_data_and_kept():
    class Book(BaseModel):
        meta: dict = {"title": "Untitled"}

    assert convert_to_openai_function(Book)["parameters"]["properties"]["meta"]["default"] == {
        "title": "Untitled"
    }


def test_pydantic_class_without_docstring_has_no_description():
    class Bare(BaseModel):
        x: int

    assert convert_to_openai_function(Bare) == {
        "name": "Bare",
        "parameters": {"properties": {"x": {"type": "integer"}}, "required": ["x"], "type": "object"},
    }


def test_recursive_pydantic_model_keeps_defs_for_the_cycle():
    class Node(BaseModel):
        value: int
        children: list[Node] = []

    Node.model_rebuild()
    params = convert_to_openai_function(Node)["parameters"]
    assert params["properties"]["value"] == {"type": "integer"}
    assert params["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    assert params["$defs"]["Node"]["properties"]["value"] == {"type": "integer"}


def test_pydantic_v1_model():
    v1 = pytest.importorskip("pydantic.v1")

    class Old(v1.BaseModel):
        """Old style."""

        a: int

    out = convert_to_openai_function(Old)
    assert out == {
        "name": "Old",
        "description": "Old style.",
        "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
    }


class Inner(TypedDict):
    """Inner thing.

    Args:
        flag: Whether set.
    """

    flag: bool


class Query(TypedDict):
    """Search query.

    Args:
        text: What to search for.
    """

    text: str
    limit: Annotated[int, 10, "Max results"]
    lang: Annotated[str, "Language code"]
    inner: Inner
    many: list[Inner]
    maybe: NotRequired[str]


def test_typeddict_docstring_annotated_nested():
    out = convert_to_openai_function(Query)
    assert out["name"] == "Query"
    assert out["description"] == "Search query."
    p = out["parameters"]
    assert p["properties"]["text"] == {"description": "What to search for.", "type": "string"}
    assert p["properties"]["limit"] == {"default": 10, "description": "Max results", "type": "integer"}
    assert p["properties"]["lang"] == {"description": "Language code", "type": "string"}
    inner = {
        "description": "Inner thing.",
        "properties": {"flag": {"description": "Whether set.", "type": "boolean"}},
        "required": ["flag"],
        "type": "object",
    }
    assert p["properties"]["inner"] == inner
    assert p["properties"]["many"]["items"] == inner
    assert p["properties"]["maybe"] == {"type": "string"}  # not required, no fake default
    assert sorted(p["required"]) == ["inner", "lang", "many", "text"]


def test_typeddict_annotated_non_string_description_rejected():
    class Bad(TypedDict):
        x: Annotated[int, 1, 2]

    with pytest.raises(ValueError, match="must be a string description"):
        convert_to_openai_function(Bad)


def test_plain_function_drops_self_cls_varargs_and_handles_pydantic_args():
    class Svc:
        def lookup(self, item: Address, *args: Any, count: int = 1, **kwargs: Any) -> None:
            """Look up an item.

            Args:
                item: The item.
                count: How many.
            """

        @classmethod
        def make(cls, n: dict[str, int]) -> None:
            """Make."""

    out = convert_to_openai_function(Svc().lookup)
    assert out["name"] == "lookup"
    assert set(out["parameters"]["properties"]) == {"item", "count"}
    assert out["parameters"]["properties"]["item"]["properties"]["street"]["type"] == "string"
    assert out["parameters"]["properties"]["count"] == {
        "default": 1,
        "description": "How many.",
        "type": "integer",
    }
    made = convert_to_openai_function(Svc.make)
    assert made["parameters"]["properties"] == {
        "n": {"additionalProperties": {"type": "integer"}, "type": "object"}
    }
    assert made["description"] == "Make."


def test_function_annotated_descriptions_and_no_docstring():
    def f(a: Annotated[int, "first number"], b: list[str] | None = None):
        pass

    out = convert_to_openai_function(f)
    assert "description" not in out
    assert out["parameters"]["properties"]["a"] == {"description": "first number", "type": "integer"}
    assert out["parameters"]["properties"]["b"]["anyOf"][0] == {"items": {"type": "string"}, "type": "array"}


def test_base_tool_instance_conversion():
    @tool
    def add(a: int, b: int = 2) -> int:
        """Add numbers."""
        return a + b

    assert convert_to_openai_tool(add) == {
        "type": "function",
        "function": {
            "name": "add",
            "description": "Add numbers.",
            "parameters": {
                "properties": {"a": {"type": "integer"}, "b": {"default": 2, "type": "integer"}},
                "required": ["a"],
                "type": "object",
            },
        },
    }


def test_simple_string_tool_without_schema():
    t = tool("shout", lambda s: s.upper(), infer_schema=False, description="Shout it.")
    assert convert_to_openai_function(t)["parameters"] == {
        "properties": {"__arg1": {"title": "__arg1", "type": "string"}},
        "required": ["__arg1"],
        "type": "object",
    }
    assert t.invoke("hi") == "HI"
    assert t.invoke({"__arg1": "yo"}) == "YO"


# --- strict -------------------------------------------------------------------------------------


def test_strict_true_rewrites_recursively():
    out = convert_to_openai_tool(Person, strict=True)["function"]
    assert out["strict"] is True
    p = out["parameters"]
    assert p["required"] == ["title", "name", "address", "tags"]
    assert p["additionalProperties"] is False
    addr = p["properties"]["address"]
    assert addr["required"] == ["street", "city"] and addr["additionalProperties"] is False


def test_strict_walks_anyof_items_and_defs():
    schema = {
        "title": "T",
        "type": "object",
        "properties": {
            "a": {"anyOf": [{"type": "object", "properties": {"x": {"type": "string"}}}, {"type": "null"}]},
            "b": {"type": "array", "items": {"type": "object", "properties": {"y": {"type": "integer"}}}},
            "c": {"$ref": "#/$defs/C"},
        },
        "$defs": {"C": {"type": "object", "properties": {"z": {"type": "number"}}}},
    }
    p = convert_to_openai_function(schema, strict=True)["parameters"]
    assert p["properties"]["a"]["anyOf"][0] == {
        "type": "object",
        "properties": {"x": {"type": "string"}},
        "required": ["x"],
        "additionalProperties": False,
    }
    assert p["properties"]["b"]["items"]["required"] == ["y"]
    assert p["properties"]["b"]["items"]["additionalProperties"] is False
    assert p["$defs"]["C"]["required"] == ["z"]
    assert "required" not in schema  # input untouched


def test_strict_false_adds_key_without_rewriting_and_conflict_raises():
    out = convert_to_openai_function(get_weather, strict=False)
    assert out["strict"] is False
    assert out["parameters"]["required"] == ["city"]
    with pytest.raises(ValueError, match="conflicts"):
        convert_to_openai_function({"name": "f", "parameters": {}, "strict": False}, strict=True)


def test_strict_applies_to_ready_openai_tool_dict():
    t = {
        "type": "function",
        "function": {
            "name": "f",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                "required": ["a"],
            },
        },
    }
    out = convert_to_openai_tool(t, strict=True)
    assert out["function"]["strict"] is True
    assert out["function"]["parameters"]["required"] == ["a", "b"]


# --- docstrings ---------------------------------------------------------------------------------


def test_parse_google_docstring_blocks_types_continuations():
    doc = """Summary line
    continues here.

    Second paragraph.

    Returns:
        Something.

    Args:
        a (int): First
            argument, continued.
        b: Second: with a colon.
    """
    desc, args = parse_google_docstring(doc, ["a", "b"])
    assert desc == "Summary line continues here. Second paragraph."
    assert args == {"a": "First argument, continued.", "b": "Second: with a colon."}


def test_parse_google_docstring_invalid():
    assert parse_google_docstring(None, ["a"]) == ("", {})
    assert parse_google_docstring("Only summary.", ["a"]) == ("Only summary.", {})
    with pytest.raises(ValueError, match="Google-style"):
        parse_google_docstring("Only summary.", ["a"], error_on_invalid_docstring=True)
    with pytest.raises(ValueError, match="Google-style"):
        parse_google_docstring(None, ["a"], error_on_invalid_docstring=True)
    # no parameters (or only run_manager/callbacks): nothing to document
    assert parse_google_docstring("S.", ["callbacks"], error_on_invalid_docstring=True) == ("S.", {})


# --- @tool forms --------------------------------------------------------------------------------


def test_tool_bare_uses_whole_docstring():
    t = tool(get_weather)
    assert isinstance(t, StructuredTool) and isinstance(t, BaseTool)
    assert t.name == "get_weather"
    assert t.description.startswith("Get the weather for a city.\n\nLonger description paragraph.\n\nArgs:")
    assert "days: Number of days." in t.description
    # arguments carry no docstring descriptions when parse_docstring=False
    assert "description" not in t.args["city"]
    assert t.args["city"] == {"title": "City", "type": "string"}


def test_tool_parse_docstring():
    t = tool(parse_docstring=True)(get_weather)
    assert t.description == "Get the weather for a city. Longer description paragraph."
    assert t.tool_call_schema["properties"]["units"]["description"] == "Temperature units, either c or f."
    assert t.tool_call_schema["title"] == "get_weather"
    assert convert_to_openai_tool(t) == GET_WEATHER_TOOL


def test_tool_parse_docstring_invalid_docstring():
    def f(x: int) -> int:
        """No args section."""
        return x

    with pytest.raises(ValueError, match="Google-style"):
        tool(parse_docstring=True)(f)
    t = tool(parse_docstring=True, error_on_invalid_docstring=False)(f)
    assert t.description == "No args section."


def test_tool_with_name_and_with_name_and_callable():
    @tool("weather_now")
    def w(city: str) -> str:
        """Weather."""
        return city

    assert w.name == "weather_now" and w.invoke({"city": "Oslo"}) == "Oslo"
    t = tool("doubler", lambda x: 2 * x, description="Double.")
    assert t.name == "doubler" and t.description == "Double."


def test_tool_keyword_options():
    class Args(BaseModel):
        """Schema doc."""

        q: str = Field(description="query")

    @tool(description="Custom.", return_direct=True, args_schema=Args, extras={"cache": True})
    def search(q: str) -> str:
        return q * 2

    assert search.description == "Custom."
    assert search.return_direct is True
    assert search.extras == {"cache": True}
    assert search.args_schema is Args
    assert search.args == {"q": {"description": "query", "title": "Q", "type": "string"}}
    assert search.invoke({"q": "ab"}) == "abab"

    @tool(args_schema=Args)
    def nodoc(q: str) -> str:
        return q

    assert nodoc.description == "Schema doc."


def test_tool_without_docstring_or_description_fails():
    def f(x: int) -> int:
        return x

    with pytest.raises(ValueError, match="no docstring"):
        tool(f)


def test_tool_with_json_schema_args_schema_passes_args_through():
    schema = {"title": "s", "type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    t = tool("js", lambda n: n + 1, args_schema=schema, description="d")
    assert t.args == {"n": {"type": "integer"}}
    assert t.tool_call_schema == {
        "title": "js",
        "description": "d",
        **{k: v for k, v in schema.items() if k != "title"},
    }
    assert t.invoke({"n": 1}) == 2


def test_tool_infer_schema_false_and_bad_response_format():
    with pytest.raises(ValueError, match="response_format"):
        tool(response_format="bogus")(get_weather)
    with pytest.raises(TypeError):
        tool(42)


# --- invoke -------------------------------------------------------------------------------------


@tool
def multiply(a: int, b: int = 3) -> int:
    """Multiply two integers."""
    return a * b


def test_invoke_with_args_returns_raw_result_and_validates():
    assert multiply.invoke({"a": "4"}) == 12  # pydantic coercion, default from the function
    with pytest.raises(pydantic.ValidationError):
        multiply.invoke({"a": "not a number"})


def test_invoke_with_tool_call_returns_tool_message():
    msg = multiply.invoke(call("multiply", {"a": 2, "b": 5}, id="call_9"))
    assert isinstance(msg, ToolMessage)
    assert (msg.content, msg.name, msg.tool_call_id, msg.status, msg.artifact) == (
        "10",
        "multiply",
        "call_9",
        "success",
        None,
    )


def test_pydantic_argument_is_validated_into_instance():
    @tool
    def where(addr: Address) -> str:
        """Where."""
        assert isinstance(addr, Address)
        return addr.city

    assert where.invoke({"addr": {"street": "Main 1", "city": "Bonn"}}) == "Bonn"


@pytest.mark.parametrize(
    ("result", "content"),
    [
        ("plain", "plain"),
        ({"v": 1, "ü": "é"}, '{"v": 1, "ü": "é"}'),
        (6, "6"),
        ([1, 2], "[1, 2]"),
        (["a", {"type": "text", "text": "b"}], ["a", {"type": "text", "text": "b"}]),
        ([{"type": "other"}], '[{"type": "other"}]'),
        (None, "null"),
        (Address(street="s", city="c"), "street='s' city='c'"),  # not JSON-serialisable: str()
        ({3}, "{3}"),
    ],
)
def test_tool_message_content_conversion(result, content):
    t = tool("r", lambda: result, description="d")
    assert t.invoke(call("r", {})).content == content


def test_content_and_artifact():
    @tool(response_format="content_and_artifact")
    def fetch(n: int) -> tuple[str, list[int]]:
        """Fetch."""
        return f"{n} items", list(range(n))

    msg = fetch.invoke(call("fetch", {"n": 3}))
    assert msg.content == "3 items" and msg.artifact == [0, 1, 2]
    assert fetch.invoke({"n": 2}) == "2 items"  # args invocation: content only

    @tool(response_format="content_and_artifact")
    def wrong() -> str:
        """Wrong."""
        return "no tuple"

    bad = wrong.invoke(call("wrong", {}))
    assert bad.status == "error" and "(content, artifact)" in bad.content
    with pytest.raises(ValueError, match="content_and_artifact"):
        wrong.invoke({})


def test_function_returning_tool_message_is_passed_through():
    own = ToolMessage(content="mine", tool_call_id="x", artifact={"a": 1})

    @tool
    def passthrough() -> ToolMessage:
        """P."""
        return own

    assert passthrough.invoke(call("passthrough", {})) is own
    assert passthrough.invoke({}) is own


# --- errors -------------------------------------------------------------------------------------


@tool
def boom(x: int) -> int:
    """Fails."""
    raise ToolException(f"cannot handle {x}")


def test_exception_with_tool_call_becomes_error_tool_message():
    msg = boom.invoke(call("boom", {"x": 7}, id="c7"))
    assert isinstance(msg, ToolMessage)
    assert msg.status == "error" and msg.tool_call_id == "c7" and msg.name == "boom"
    assert msg.content == "Error: ToolException: cannot handle 7"


def test_validation_error_with_tool_call_becomes_error_tool_message():
    msg = multiply.invoke(call("multiply", {"b": 2}))
    assert msg.status == "error"
    assert msg.content.startswith("Error: ValidationError: 1 validation error")
    assert "a\n" in msg.content and "Field required" in msg.content
    assert "For further information" not in msg.content


def test_any_exception_type_with_tool_call():
    t = tool("div", lambda a: 1 / a, description="d")
    assert t.invoke(call("div", {"a": 0})).content == "Error: ZeroDivisionError: division by zero"


def test_exception_with_args_propagates_unless_handled():
    with pytest.raises(ToolException, match="cannot handle 1"):
        boom.invoke({"x": 1})
    handled = tool(handle_tool_error=True)(boom.func)
    assert handled.invoke({"x": 1}) == "Error: ToolException: cannot handle 1"
    text = tool(handle_tool_error="try again")(boom.func)
    assert text.invoke({"x": 1}) == "try again"
    assert text.invoke(call("boom", {"x": 1})).content == "try again"
    fn = tool(handle_tool_error=lambda e: f"custom {e}")(boom.func)
    assert fn.invoke({"x": 2}) == "custom cannot handle 2"


def test_tool_call_without_id():
    msg = multiply.invoke(call("multiply", {"a": 1}, id=None))
    assert isinstance(msg, ToolMessage) and msg.tool_call_id == "" and msg.content == "3"


# --- async --------------------------------------------------------------------------------------


def test_async_tool_ainvoke_and_sync_invoke_outside_loop():
    @tool
    async def fetch_async(n: int) -> dict:
        """Fetch async."""
        await asyncio.sleep(0)
        return {"n": n}

    assert fetch_async.coroutine is not None and fetch_async.func is None
    assert asyncio.run(fetch_async.ainvoke({"n": 1})) == {"n": 1}
    msg = asyncio.run(fetch_async.ainvoke(call("fetch_async", {"n": 2})))
    assert msg.content == '{"n": 2}'
    assert fetch_async.invoke({"n": 3}) == {"n": 3}  # no running loop: run to completion

    async def inside() -> None:
        with pytest.raises(RuntimeError, match="ainvoke"):
            fetch_async.invoke({"n": 4})

    asyncio.run(inside())


def test_sync_tool_ainvoke_runs_in_thread():
    main = threading.get_ident()

    @tool
    def which_thread() -> bool:
        """Thread."""
        return threading.get_ident() != main

    assert asyncio.run(which_thread.ainvoke({})) is True


def test_async_tool_error_becomes_tool_message():
    @tool
    async def afail(x: int) -> int:
        """Fail."""
        raise ValueError("bad x")

    msg = asyncio.run(afail.ainvoke(call("afail", {"x": 1})))
    assert msg.status == "error" and msg.content == "Error: ValueError: bad x"
    with pytest.raises(ValueError, match="bad x"):
        asyncio.run(afail.ainvoke({"x": 1}))


def test_subclassed_base_tool():
    class Echo(BaseTool):
        name: str = "echo"
        description: str = "Echo text."
        args_schema = Address

        def _run(self, street: str, city: str) -> str:
            return f"{street}, {city}"

    t = Echo()
    assert t.invoke({"street": "a", "city": "b"}) == "a, b"
    assert asyncio.run(t.ainvoke(call("echo", {"street": "x", "city": "y"}))).content == "x, y"
    assert convert_to_openai_function(t)["name"] == "echo"
    with pytest.raises(TypeError, match="unexpected keyword"):
        Echo(nonsense=1)


def test_single_arg_tool_accepts_string_input():
    @tool
    def upper(text: str) -> str:
        """Upper."""
        return text.upper()

    assert upper.invoke("abc") == "ABC"
    with pytest.raises(ValueError, match="as a dict"):
        multiply.invoke("3")
