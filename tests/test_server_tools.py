"""Server-side tools, image output and the LangChain content shapes (issue #14), over real loopback
HTTP through the provider emulator. The first tests are the models page's own examples, with only
the imports and the endpoint (environment variables) changed."""

from __future__ import annotations

import pytest
from _helpers import PNG, get_weather, sum_chunks

from harness import init_chat_model
from harness.messages.core import AIMessage, HumanMessage
from harness.testing import Reply, ToolCallSpec

SEARCH = {
    "type": "web_search",
    "query": "positive news stories today",
    "results": [{"url": "https://example.org/good-news", "title": "Good news"}],
}
TEXT = "Here are some positive news stories from today..."


@pytest.fixture
def openai_env(emulator, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url("openai"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    return emulator


def _model(emulator, spec):
    provider = spec.split(":")[0]
    return init_chat_model(spec, base_url=emulator.base_url(provider), api_key="k")


# --- the models page's examples --------------------------------------------------------------------


def test_models_page_server_side_tool_use(openai_env):
    openai_env.queue(Reply(text=TEXT, server_tools=[SEARCH]))
    # the page's code
    model = init_chat_model("gpt-4.1-mini")

    tool = {"type": "web_search"}
    model_with_tools = model.bind_tools([tool])

    response = model_with_tools.invoke("What was a positive news story from today?")
    response.content_blocks  # noqa: B018  (the page's last line, as written)
    # what the page shows
    blocks = response.content_blocks
    assert [b["type"] for b in blocks] == ["server_tool_call", "server_tool_result", "text"]
    call, result, text = blocks
    assert call["name"] == "web_search" and call["args"] == {
        "query": "positive news stories today",
        "type": "search",
    }
    assert result["tool_call_id"] == call["id"] and result["status"] == "success"
    assert text["text"] == TEXT
    assert text["annotations"] == [
        {
            "type": "citation",
            "url": "https://example.org/good-news",
            "title": "Good news",
            "start_index": 0,
            "end_index": len(TEXT),
        }
    ]
    # LangChain sends a built-in tool to the Responses API, and says "openai" there too
    assert openai_env.requests[-1].path == "/v1/responses"
    assert openai_env.requests[-1].body["tools"] == [{"type": "web_search"}]
    assert response.response_metadata["model_provider"] == "openai"
    model.close()


def test_models_page_multimodal_output(emulator, monkeypatch):
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", emulator.base_url("google_genai"))
    monkeypatch.setenv("GOOGLE_API_KEY", "k")
    image = {"type": "image_generation", "result": PNG, "output_format": "png"}
    emulator.queue(Reply(text="Here's a picture of a cat", server_tools=[image]))
    model = init_chat_model("google_genai:gemini-2.5-flash-image")
    # the page's code
    response = model.invoke("Create a picture of a cat")
    print(response.content_blocks)
    # what the page shows
    assert [
        (b["type"], b.get("text"), b.get("base64"), b.get("mime_type")) for b in response.content_blocks
    ] == [
        ("text", "Here's a picture of a cat", None, None),
        ("image", None, PNG, "image/png"),
    ]
    model.close()


# --- OpenAI: built-in tools and Responses-only parameters go to the Responses API ----------------------


@pytest.mark.parametrize(
    "bind",
    [
        {"tools": [{"type": "file_search", "vector_store_ids": ["vs_1"]}]},
        {"reasoning": {"effort": "low", "summary": "auto"}},
        {"include": ["reasoning.encrypted_content"]},
        {"previous_response_id": "resp_123"},
        {"truncation": "auto"},
    ],
    ids=["builtin-tool", "reasoning", "include", "previous_response_id", "truncation"],
)
def test_openai_responses_only_requests_switch_api(emulator, bind):
    with _model(emulator, "openai:gpt-4.1-mini") as model:
        emulator.queue(Reply(text="ok"))
        assert model.bind(**bind).invoke("hi").text == "ok"
        sent = emulator.requests[-1]
        assert sent.path == "/v1/responses" and sent.rejected is None
        for key, value in bind.items():
            assert sent.body[key] == value
        model.invoke("plain")  # the same model, without them: Chat Completions
        assert emulator.requests[-1].path == "/v1/chat/completions"


def test_openai_use_responses_api_false_keeps_chat_completions_which_refuses_builtin_tools(emulator):
    from harness.errors import ModelInvalidRequestError

    model = init_chat_model(
        "openai:gpt-4.1-mini", use_responses_api=False, base_url=emulator.base_url("openai"), api_key="k"
    )
    with model, pytest.raises(ModelInvalidRequestError) as info:
        model.bind_tools([{"type": "web_search"}]).invoke("news?")
    sent = emulator.requests[-1]
    assert sent.path == "/v1/chat/completions" and "use_responses_api" not in sent.body
    # the real API's refusal, as the emulator now gives it
    assert info.value.body["error"] == {
        "message": "Invalid value: 'web_search'. Supported values are: 'custom' and 'function'.",
        "type": "invalid_request_error",
        "param": "tools[0].type",
        "code": "invalid_value",
    }


def test_openai_builtin_tool_beside_a_function_tool_streams_as_it_invokes(emulator):
    reply = Reply(text=TEXT, server_tools=[SEARCH], chunk_chars=9)
    emulator.queue(reply, reply)
    with _model(emulator, "openai:gpt-4.1-mini") as model:
        bound = model.bind_tools([{"type": "web_search"}, get_weather])
        invoked = bound.invoke("news?")
        streamed = sum_chunks(list(bound.stream("news?")))
    assert streamed.content_blocks == invoked.content_blocks
    assert [b["type"] for b in streamed.content_blocks] == ["server_tool_call", "server_tool_result", "text"]
    body = emulator.requests[-1].body
    assert body["tools"][0] == {"type": "web_search"} and body["tools"][1]["name"] == "get_weather"


# --- image output -------------------------------------------------------------------------------------


def test_responses_image_generation_gives_an_image_block_and_is_sent_back_by_id(emulator):
    image = {"type": "image_generation", "result": PNG, "output_format": "webp", "revised_prompt": "a cat"}
    emulator.queue(Reply(text="Here's a picture of a cat", server_tools=[image]), Reply(text="done"))
    with _model(emulator, "openai:gpt-4.1-mini") as model:
        bound = model.bind_tools([{"type": "image_generation"}])
        ai = bound.invoke("Create a picture of a cat")
        img = next(b for b in ai.content_blocks if b["type"] == "image")
        assert img["base64"] == PNG and img["mime_type"] == "image/webp" and img["id"].startswith("ig_")
        assert img["extras"]["revised_prompt"] == "a cat"
        assert not any(b["type"].startswith("server_tool") for b in ai.content_blocks)
        bound.invoke([HumanMessage("Create a picture of a cat"), ai, HumanMessage("make it blue")])
    sent = emulator.requests[-1].body["input"]
    assert {"type": "image_generation_call", "id": img["id"]} in sent
    assert emulator.requests[-1].rejected is None


def test_streamed_image_generation_equals_invoke(emulator):
    image = {"type": "image_generation", "result": PNG}
    reply = Reply(text="A cat.", server_tools=[image])
    emulator.queue(reply, reply)
    with _model(emulator, "openai_responses:gpt-4.1") as model:
        bound = model.bind_tools([{"type": "image_generation"}])
        invoked = bound.invoke("cat")
        streamed = sum_chunks(list(bound.stream("cat")))
    assert streamed.content_blocks == invoked.content_blocks
    assert [b["type"] for b in invoked.content_blocks] == ["image", "text"]
    assert invoked.content_blocks[0]["mime_type"] == "image/png"  # the API's default output format


# --- Anthropic: server tools pass through; content as LangChain's dict blocks ---------------------------


ANTHROPIC_SEARCH = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}


def test_anthropic_server_tools_pass_through_and_parse_to_standard_blocks(emulator):
    code = {"type": "code_execution_20250825", "name": "code_execution"}
    fetch = {"type": "web_fetch_20250910", "name": "web_fetch", "max_uses": 2}
    reply = Reply(text="Spain won.", server_tools=[{**SEARCH, "query": "euro 2024 winner"}])
    emulator.queue(reply, reply)
    with _model(emulator, "anthropic:claude-sonnet-4-5") as model:
        bound = model.bind_tools([ANTHROPIC_SEARCH, code, fetch, get_weather])
        invoked = bound.invoke("Who won Euro 2024?")
        streamed = sum_chunks(list(bound.stream("Who won Euro 2024?")))
    tools = emulator.requests[-1].body["tools"]
    assert tools[:3] == [ANTHROPIC_SEARCH, code, fetch]  # type and max_uses kept
    assert tools[3]["name"] == "get_weather" and "input_schema" in tools[3]
    blocks = invoked.content_blocks
    assert [b["type"] for b in blocks] == ["server_tool_call", "server_tool_result", "text"]
    assert blocks[0]["name"] == "web_search" and blocks[0]["args"] == {"query": "euro 2024 winner"}
    assert blocks[1]["tool_call_id"] == blocks[0]["id"] and blocks[1]["status"] == "success"
    citation = blocks[2]["annotations"][0]
    assert citation["type"] == "citation" and citation["url"] == "https://example.org/good-news"
    assert citation["title"] == "Good news" and citation["cited_text"] == "Spain won."
    assert streamed.content_blocks == blocks
    assert invoked.tool_calls == [] and invoked.text == "Spain won."


def test_anthropic_failed_server_tool_is_an_error_result(emulator):
    emulator.queue(Reply(text="Search is down.", server_tools=[{**SEARCH, "status": "failed"}]))
    with _model(emulator, "anthropic:claude-sonnet-4-5") as model:
        ai = model.bind_tools([ANTHROPIC_SEARCH]).invoke("news?")
    result = next(b for b in ai.content_blocks if b["type"] == "server_tool_result")
    assert result["status"] == "error"
    assert "annotations" not in next(b for b in ai.content_blocks if b["type"] == "text")


def test_anthropic_text_then_tool_call_is_a_list_of_dict_blocks(emulator):
    reply = Reply(
        text="Let me check.", tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"}, id="toolu_1")]
    )
    emulator.queue(reply, reply)
    with _model(emulator, "anthropic:claude-sonnet-4-5") as model:
        bound = model.bind_tools([get_weather])
        r = bound.invoke("Weather in Paris?")
        chunks = list(bound.stream("Weather in Paris?"))
    assert [b["type"] for b in r.content] == ["text", "tool_use"]
    assert r.content == [
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
    ]
    # stream chunks carry dict blocks with their index (tools bound: text too, as in LangChain)
    streamed = [b for c in chunks if isinstance(c.content, list) for b in c.content]
    assert streamed and all(isinstance(b, dict) and isinstance(b["index"], int) for b in streamed)
    total = sum_chunks(chunks)
    assert [b["type"] for b in total.content] == ["text", "tool_use"]
    assert total.content_blocks == r.content_blocks and total.tool_calls == r.tool_calls


def test_anthropic_text_only_reply_is_a_string(emulator):
    emulator.queue(Reply(text="Paris."))
    with _model(emulator, "anthropic:claude-sonnet-4-5") as model:
        assert model.bind_tools([get_weather]).invoke("Capital?").content == "Paris."


# --- Gemini: built-in tools, grounding citations, code execution --------------------------------------


def test_gemini_builtin_tools_and_grounding_citations(emulator):
    run = {"type": "code_interpreter", "code": "print(2 + 2)", "output": "4\n"}
    reply = Reply(text="Spain won Euro 2024.", server_tools=[{**SEARCH, "query": "euro 2024"}, run])
    emulator.queue(reply, reply)
    with _model(emulator, "google_genai:gemini-2.5-flash") as model:
        bound = model.bind_tools(
            [{"google_search": {}}, {"code_execution": {}}, {"url_context": {}}, get_weather]
        )
        ai = bound.invoke("Who won Euro 2024?")
        streamed = sum_chunks(list(bound.stream("Who won Euro 2024?")))
    tools = emulator.requests[-1].body["tools"]
    assert tools[0]["functionDeclarations"][0]["name"] == "get_weather"
    assert tools[1:] == [{"googleSearch": {}}, {"codeExecution": {}}, {"urlContext": {}}]
    blocks = ai.content_blocks
    assert [b["type"] for b in blocks] == ["server_tool_call", "server_tool_result", "text"]
    assert blocks[0]["name"] == "code_execution" and blocks[0]["args"]["code"] == "print(2 + 2)"
    assert blocks[1]["output"] == "4\n" and blocks[1]["status"] == "success"
    [citation] = blocks[2]["annotations"]
    assert citation["url"] == "https://example.org/good-news" and citation["title"] == "Good news"
    assert (citation["start_index"], citation["end_index"]) == (0, len("Spain won Euro 2024."))
    assert citation["extras"]["google_ai_metadata"]["web_search_queries"] == ["euro 2024"]
    assert ai.response_metadata["finish_reason"] == "STOP"  # Gemini's own value, as LangChain keeps it
    assert streamed.content_blocks == blocks


def test_gemini_camel_case_builtin_tool_with_config_is_sent_as_gemini_spells_it(emulator):
    emulator.queue(Reply(text="ok"))
    tool = {"google_search_retrieval": {"dynamic_retrieval_config": {"mode": "MODE_DYNAMIC"}}}
    with _model(emulator, "google_genai:gemini-2.5-flash") as model:
        model.bind_tools([tool]).invoke("hi")
    assert emulator.requests[-1].body["tools"] == [
        {"googleSearchRetrieval": {"dynamicRetrievalConfig": {"mode": "MODE_DYNAMIC"}}}
    ]


def test_gemini_max_tokens_finish_reason(emulator):
    emulator.queue(Reply(text="cut", finish_reason="length"))
    with _model(emulator, "google_genai:gemini-2.5-flash") as model:
        meta = model.invoke("long").response_metadata
    assert meta["finish_reason"] == "MAX_TOKENS" and meta["normalized_finish_reason"] == "length"


def test_history_with_server_blocks_is_accepted_by_the_strict_emulator(emulator):
    """A reply with server tool blocks sent back as history: each adapter writes what its API takes."""
    for spec, tool in (
        ("anthropic:claude-sonnet-4-5", ANTHROPIC_SEARCH),
        ("openai:gpt-4.1-mini", {"type": "web_search"}),
    ):
        emulator.queue(Reply(text="Spain won.", server_tools=[SEARCH]), Reply(text="Yes."))
        with _model(emulator, spec) as model:
            bound = model.bind_tools([tool])
            first = bound.invoke("Who won?")
            assert isinstance(first, AIMessage)
            assert bound.invoke([HumanMessage("Who won?"), first, HumanMessage("Sure?")]).text == "Yes."
        assert emulator.requests[-1].rejected is None


def test_openai_builtin_tool_forced_by_its_type(emulator):
    emulator.queue(Reply(text=TEXT, server_tools=[SEARCH]))
    with _model(emulator, "openai:gpt-4.1-mini") as model:
        model.bind_tools([{"type": "web_search"}, get_weather], tool_choice="web_search").invoke("news?")
    assert emulator.requests[-1].body["tool_choice"] == {"type": "web_search"}


def test_azure_builtin_tool_goes_to_azures_responses_endpoint(emulator):
    emulator.queue(Reply(text=TEXT, server_tools=[SEARCH]))
    model = init_chat_model(
        "azure_openai:gpt-4o", azure_endpoint=emulator.url + "/openai/v1", api_key="k", api_version="preview"
    )
    with model:
        ai = model.bind_tools([{"type": "web_search"}]).invoke("news?")
    assert emulator.requests[-1].path == "/openai/v1/responses"
    assert emulator.requests[-1].body["model"] == "gpt-4o"
    assert [b["type"] for b in ai.content_blocks] == ["server_tool_call", "server_tool_result", "text"]


@pytest.mark.parametrize("stream", [False, True], ids=["invoke", "stream"])
def test_a_routed_responses_call_records_and_replays_offline(emulator, tmp_path, monkeypatch, stream):
    import socket

    from harness.cassettes import load_cassette, use_cassette

    path = tmp_path / "search.yaml"
    emulator.queue(Reply(text=TEXT, server_tools=[SEARCH]))
    model = _model(emulator, "openai:gpt-4.1-mini").bind_tools([{"type": "web_search"}])

    def call():
        return sum_chunks(list(model.stream("news?"))) if stream else model.invoke("news?")

    with use_cassette(path, record_mode="once"):
        live = call()
    [ix] = load_cassette(path)
    assert ix.request.uri.endswith("/v1/responses")
    emulator.stop()

    def refuse(*a, **k):
        raise AssertionError("replay opened a socket")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    with use_cassette(path, record_mode="none") as cas:
        again = call()
    assert cas.state == "replayed"
    assert again.content_blocks == live.content_blocks
    assert [b["type"] for b in again.content_blocks] == ["server_tool_call", "server_tool_result", "text"]
