"""The code examples of LangChain's models page (docs.langchain.com/oss/python/langchain/models), run
against the emulator: each test's body is the page's example with only the imports changed and the
endpoints set in the environment (the `page` fixture), as a user would. docs/models-page.md maps each
example to its test; the server-side tool and image-output examples are tested on branch servertools."""

from __future__ import annotations

import asyncio
from typing import Annotated, TypedDict

import pytest
from pydantic import BaseModel, Field

from harness import init_chat_model, tool
from harness.callbacks import BaseCallbackHandler, UsageMetadataCallbackHandler, get_usage_metadata_callback
from harness.messages.core import AIMessage, HumanMessage, SystemMessage
from harness.rate_limiters import InMemoryRateLimiter
from harness.testing import Reply, ToolCallSpec


@pytest.fixture
def page(emulator, monkeypatch):
    """Every provider's endpoint and key in the environment, pointing at the emulator."""
    env = {
        "OPENAI_API_KEY": "sk-page",
        "OPENAI_BASE_URL": emulator.base_url("openai"),
        "ANTHROPIC_API_KEY": "sk-ant-page",
        "ANTHROPIC_BASE_URL": emulator.base_url("anthropic"),
        "GOOGLE_API_KEY": "AIza-page",
        "GOOGLE_GEMINI_BASE_URL": emulator.base_url("google_genai"),
        "AZURE_OPENAI_API_KEY": "azure-page",
        "AZURE_OPENAI_ENDPOINT": emulator.url,
        "AZURE_OPENAI_DEPLOYMENT_NAME": "gpt-4.1",
        "OPENAI_API_VERSION": "2025-03-01-preview",
        "AWS_BEARER_TOKEN_BEDROCK": "bedrock-page",
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": emulator.base_url("bedrock_converse"),
        "OLLAMA_HOST": emulator.base_url("ollama"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return emulator


# --- Initialize a model (one tab per provider) --------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (("gpt-4.1",), {}),
        (("claude-sonnet-4-5-20250929",), {}),
        (("azure_openai:gpt-4.1",), {"azure_deployment": "AZURE_OPENAI_DEPLOYMENT_NAME"}),
        (("google_genai:gemini-2.5-flash-lite",), {}),
        (("anthropic.claude-3-5-sonnet-20240620-v1:0",), {"model_provider": "bedrock_converse"}),
    ],
    ids=["openai", "anthropic", "azure", "google", "bedrock"],
)
def test_initialize_a_model(page, args, kwargs):
    import os

    if "azure_deployment" in kwargs:
        kwargs = {"azure_deployment": os.environ[kwargs["azure_deployment"]]}
    model = init_chat_model(*args, **kwargs)
    response = model.invoke("Why do parrots talk?")
    assert response.text and page.requests[-1].provider


def test_key_parameters(page):
    model = init_chat_model(
        "claude-sonnet-4-5-20250929",
        # Kwargs passed to the model:
        temperature=0.7,
        timeout=30,
        max_tokens=1000,
    )
    model.invoke("hi")
    assert page.requests[-1].body["temperature"] == 0.7 and page.requests[-1].body["max_tokens"] == 1000


# --- Invoke -------------------------------------------------------------------------------------


def test_invoke(page):
    model = init_chat_model("gpt-4.1")
    response = model.invoke("Why do parrots have colorful feathers?")
    print(response)
    assert isinstance(response, AIMessage)


def test_invoke_conversation_as_dicts(page):
    model = init_chat_model("gpt-4.1")
    page.queue(Reply(text="J'adore créer des applications."))
    conversation = [
        {"role": "system", "content": "You are a helpful assistant that translates English to French."},
        {"role": "user", "content": "Translate: I love programming."},
        {"role": "assistant", "content": "J'adore la programmation."},
        {"role": "user", "content": "Translate: I love building applications."},
    ]
    response = model.invoke(conversation)
    print(response)  # AIMessage("J'adore créer des applications.")
    assert response.text == "J'adore créer des applications."
    assert [m["role"] for m in page.requests[-1].body["messages"]] == ["system", "user", "assistant", "user"]


def test_invoke_conversation_as_message_objects(page):
    model = init_chat_model("gpt-4.1")
    conversation = [
        SystemMessage("You are a helpful assistant that translates English to French."),
        HumanMessage("Translate: I love programming."),
        AIMessage("J'adore la programmation."),
        HumanMessage("Translate: I love building applications."),
    ]
    response = model.invoke(conversation)
    print(response)
    assert [m["role"] for m in page.requests[-1].body["messages"]] == ["system", "user", "assistant", "user"]


# --- Stream ------------------------------------------------------------------------------------


def test_stream_text(page, capsys):
    model = init_chat_model("gpt-4.1")
    page.queue(Reply(text="Parrots are colorful because of pigments."))
    for chunk in model.stream("Why do parrots have colorful feathers?"):
        print(chunk.text, end="|", flush=True)
    assert capsys.readouterr().out.count("|") > 2


def test_stream_content_blocks(page, capsys):
    model = init_chat_model("claude-sonnet-4-5-20250929", thinking={"type": "enabled", "budget_tokens": 1024})
    page.queue(Reply(text="Blue.", reasoning="Rayleigh scattering."))
    for chunk in model.stream("What color is the sky?"):
        for block in chunk.content_blocks:
            if block["type"] == "reasoning" and (reasoning := block.get("reasoning")):
                print(f"Reasoning: {reasoning}")
            elif block["type"] == "tool_call_chunk":
                print(f"Tool call chunk: {block}")
            elif block["type"] == "text":
                print(block["text"])
    out = capsys.readouterr().out
    assert "Reasoning: " in out and "Blue" in out


def test_stream_aggregation(page):
    model = init_chat_model("gpt-4.1")
    page.queue(Reply(text="The sky is blue."))
    full = None  # None | AIMessageChunk
    for chunk in model.stream("What color is the sky?"):
        full = chunk if full is None else full + chunk
        print(full.text)
    print(full.content_blocks)
    assert full.text == "The sky is blue." and full.content_blocks == [
        {"type": "text", "text": "The sky is blue."}
    ]


def test_astream_events(page, capsys):
    model = init_chat_model("gpt-4.1")

    async def main():
        async for event in model.astream_events("Hello"):
            if event["event"] == "on_chat_model_start":
                print(f"Input: {event['data']['input']}")
            elif event["event"] == "on_chat_model_stream":
                print(f"Token: {event['data']['chunk'].text}")
            elif event["event"] == "on_chat_model_end":
                print(f"Full message: {event['data']['output'].text}")
        await model.aclose()

    asyncio.run(main())
    out = capsys.readouterr().out
    assert out.startswith("Input: Hello") and "Token: " in out and "Full message: " in out


# --- Batch -------------------------------------------------------------------------------------


def test_batch(page):
    model = init_chat_model("gpt-4.1")
    responses = model.batch(
        ["Why do parrots have colorful feathers?", "How do airplanes fly?", "What is quantum computing?"]
    )
    for response in responses:
        print(response)
    assert len(responses) == 3 and all(isinstance(r, AIMessage) for r in responses)


def test_batch_as_completed(page):
    model = init_chat_model("gpt-4.1")
    seen = []
    for response in model.batch_as_completed(
        ["Why do parrots have colorful feathers?", "How do airplanes fly?", "What is quantum computing?"]
    ):
        print(response)
        seen.append(response)
    assert sorted(i for i, _ in seen) == [0, 1, 2]


def test_batch_max_concurrency(page):
    model = init_chat_model("gpt-4.1")
    list_of_inputs = [f"question {i}" for i in range(8)]
    responses = model.batch(list_of_inputs, config={"max_concurrency": 5})  # Limit to 5 parallel calls
    assert len(responses) == 8


# --- Tool calling ------------------------------------------------------------------------------------


@tool
def get_weather(location: str) -> str:
    """Get the weather at a location."""
    return f"It's sunny in {location}."


def test_tool_calling(page, capsys):
    model = init_chat_model("gpt-4.1")
    page.queue(Reply(tool_calls=[ToolCallSpec("get_weather", {"location": "Boston"})]))
    model_with_tools = model.bind_tools([get_weather])
    response = model_with_tools.invoke("What's the weather like in Boston?")
    for tool_call in response.tool_calls:
        # View tool calls made by the model
        print(f"Tool: {tool_call['name']}")
        print(f"Args: {tool_call['args']}")
    assert "Tool: get_weather\nArgs: {'location': 'Boston'}" in capsys.readouterr().out


def test_tool_execution_loop(page):
    model = init_chat_model("gpt-4.1")
    page.queue(Reply(tool_calls=[ToolCallSpec("get_weather", {"location": "Boston"})]), Reply(text="Sunny."))
    # Bind (potentially multiple) tools to the model
    model_with_tools = model.bind_tools([get_weather])
    # Step 1: Model generates tool calls
    messages = [{"role": "user", "content": "What's the weather in Boston?"}]
    ai_msg = model_with_tools.invoke(messages)
    messages.append(ai_msg)
    # Step 2: Execute tools and collect results
    for tool_call in ai_msg.tool_calls:
        # Execute the tool with the generated arguments
        tool_result = get_weather.invoke(tool_call)
        messages.append(tool_result)
    # Step 3: Pass results back to model for final response
    final_response = model_with_tools.invoke(messages)
    print(final_response.text)
    assert final_response.text == "Sunny."
    sent = page.requests[-1].body["messages"][-1]
    assert (sent["role"], sent["tool_call_id"], sent["content"]) == (
        "tool",
        ai_msg.tool_calls[0]["id"],
        "It's sunny in Boston.",
    )


@pytest.mark.parametrize("tool_choice", ["any", "get_weather"])
def test_forcing_tool_calls(page, tool_choice):
    model = init_chat_model("gpt-4.1")
    model_with_tools = model.bind_tools([get_weather], tool_choice=tool_choice)
    model_with_tools.invoke("hi")
    assert page.requests[-1].body["tool_choice"] in (
        "required",
        {"type": "function", "function": {"name": "get_weather"}},
    )


def test_parallel_tool_calls(page):
    model = init_chat_model("gpt-4.1")
    page.queue(
        Reply(tool_calls=[ToolCallSpec("get_weather", {"location": "Boston"}), ToolCallSpec("get_weather", {"location": "Tokyo"})])
    )  # fmt: skip
    model_with_tools = model.bind_tools([get_weather])
    response = model_with_tools.invoke("What's the weather in Boston and Tokyo?")
    # The model may generate multiple tool calls
    print(response.tool_calls)
    # Execute all tools (can be done in parallel with async)
    results = []
    for tool_call in response.tool_calls:
        if tool_call["name"] == "get_weather":
            result = get_weather.invoke(tool_call)
        ...
        results.append(result)
    assert [r.content for r in results] == ["It's sunny in Boston.", "It's sunny in Tokyo."]


def test_parallel_tool_calls_disabled(page):
    model = init_chat_model("gpt-4.1")
    model.bind_tools([get_weather], parallel_tool_calls=False).invoke("weather?")
    assert page.requests[-1].body["parallel_tool_calls"] is False


def test_streaming_tool_calls(page, capsys):
    model = init_chat_model("gpt-4.1")
    page.queue(
        Reply(tool_calls=[ToolCallSpec("get_weather", {"location": "Boston"}), ToolCallSpec("get_weather", {"location": "Tokyo"})]),
        Reply(tool_calls=[ToolCallSpec("get_weather", {"location": "Boston"})]),
    )  # fmt: skip
    model_with_tools = model.bind_tools([get_weather])
    for chunk in model_with_tools.stream("What's the weather in Boston and Tokyo?"):
        # Tool call chunks arrive progressively
        for tool_chunk in chunk.tool_call_chunks:
            if name := tool_chunk.get("name"):
                print(f"Tool: {name}")
            if id_ := tool_chunk.get("id"):
                print(f"ID: {id_}")
            if args := tool_chunk.get("args"):
                print(f"Args: {args}")
    assert capsys.readouterr().out.count("Tool: get_weather") == 2
    # Accumulate chunks to build complete tool calls
    gathered = None
    for chunk in model_with_tools.stream("What's the weather in Boston?"):
        gathered = chunk if gathered is None else gathered + chunk
        print(gathered.tool_calls)
    assert gathered.tool_calls[0]["args"] == {"location": "Boston"}


# --- Structured output ------------------------------------------------------------------------------


class Movie(BaseModel):
    """A movie with details."""

    title: str = Field(..., description="The title of the movie")
    year: int = Field(..., description="The year the movie was released")
    director: str = Field(..., description="The director of the movie")
    rating: float = Field(..., description="The movie's rating out of 10")


def test_structured_output_pydantic(page):
    model = init_chat_model("gpt-4.1")
    model_with_structure = model.with_structured_output(Movie)
    response = model_with_structure.invoke("Provide details about the movie Inception")
    print(response)  # Movie(title="Inception", year=2010, director="Christopher Nolan", rating=8.8)
    assert isinstance(response, Movie)


def test_structured_output_typeddict(page):
    model = init_chat_model("gpt-4.1")

    class MovieDict(TypedDict):
        """A movie with details."""

        title: Annotated[str, ..., "The title of the movie"]
        year: Annotated[int, ..., "The year the movie was released"]
        director: Annotated[str, ..., "The director of the movie"]
        rating: Annotated[float, ..., "The movie's rating out of 10"]

    model_with_structure = model.with_structured_output(MovieDict)
    response = model_with_structure.invoke("Provide details about the movie Inception")
    print(response)  # {'title': 'Inception', 'year': 2010, 'director': 'Christopher Nolan', 'rating': 8.8}
    assert set(response) == {"title", "year", "director", "rating"}


def test_structured_output_json_schema(page):
    model = init_chat_model("gpt-4.1")
    json_schema = {
        "title": "Movie",
        "description": "A movie with details",
        "type": "object",
        "properties": {
            "title": {"type": "string", "description": "The title of the movie"},
            "year": {"type": "integer", "description": "The year the movie was released"},
            "director": {"type": "string", "description": "The director of the movie"},
            "rating": {"type": "number", "description": "The movie's rating out of 10"},
        },
        "required": ["title", "year", "director", "rating"],
    }
    model_with_structure = model.with_structured_output(json_schema, method="json_schema")
    response = model_with_structure.invoke("Provide details about the movie Inception")
    print(response)
    assert set(response) == {"title", "year", "director", "rating"}


def test_structured_output_include_raw(page):
    model = init_chat_model("gpt-4.1")
    model_with_structure = model.with_structured_output(Movie, include_raw=True)
    response = model_with_structure.invoke("Provide details about the movie Inception")
    assert set(response) == {"raw", "parsed", "parsing_error"}
    assert isinstance(response["raw"], AIMessage) and isinstance(response["parsed"], Movie)
    assert response["parsing_error"] is None


def test_structured_output_nested(page):
    model = init_chat_model("gpt-4.1")

    class Actor(BaseModel):
        name: str
        role: str

    class MovieDetails(BaseModel):
        title: str
        year: int
        cast: list[Actor]
        genres: list[str]
        budget: float | None = Field(None, description="Budget in millions USD")

    model_with_structure = model.with_structured_output(MovieDetails)
    response = model_with_structure.invoke("Provide details about the movie Inception")
    assert isinstance(response, MovieDetails) and all(isinstance(a, Actor) for a in response.cast)


# --- Multimodal input, reasoning, local models ----------------------------------------------------


def test_multimodal_input(page):
    model = init_chat_model("gpt-4.1")
    message = {
        "role": "user",
        "content": [
            {"type": "text", "text": "Describe the content of this image."},
            {"type": "image", "url": "https://example.com/path/to/image.jpg"},
        ],
    }
    response = model.invoke([message])
    assert response.text
    parts = page.requests[-1].body["messages"][0]["content"]
    assert parts[1] == {"type": "image_url", "image_url": {"url": "https://example.com/path/to/image.jpg"}}


def test_reasoning_stream_and_invoke(page, capsys):
    model = init_chat_model("claude-sonnet-4-5-20250929", thinking={"type": "enabled", "budget_tokens": 1024})
    steps = Reply(text="Pigments and structure.", reasoning="Think about feathers.")
    page.queue(steps, steps)
    for chunk in model.stream("Why do parrots have colorful feathers?"):
        reasoning_steps = [r for r in chunk.content_blocks if r["type"] == "reasoning"]
        print(reasoning_steps if reasoning_steps else chunk.text)
    response = model.invoke("Why do parrots have colorful feathers?")
    reasoning_steps = [b for b in response.content_blocks if b["type"] == "reasoning"]
    print(" ".join(step["reasoning"] for step in reasoning_steps))
    assert capsys.readouterr().out.rstrip().endswith("Think about feathers.")


def test_local_model(page):
    model = init_chat_model("ollama:llama3.2")
    assert model.invoke("hi").text and page.requests[-1].path == "/api/chat"


# --- Rate limiting, base URL and proxy, log probabilities ---------------------------------------------


def test_rate_limiting(page):
    rate_limiter = InMemoryRateLimiter(
        requests_per_second=0.1,  # 1 request every 10s
        check_every_n_seconds=0.1,  # Check every 100ms whether allowed to make a request
        max_bucket_size=10,  # Controls the maximum burst size.
    )
    model = init_chat_model(model="gpt-5", model_provider="openai", rate_limiter=rate_limiter)
    assert model.rate_limiter is rate_limiter


def test_base_url(page):
    model = init_chat_model(
        model="MODEL_NAME", model_provider="openai", base_url=page.base_url("openai"), api_key="YOUR_API_KEY"
    )
    model.invoke("hi")
    assert page.requests[-1].body["model"] == "MODEL_NAME"
    assert page.requests[-1].headers["authorization"] == "Bearer YOUR_API_KEY"


def test_proxy(page):
    from _proxy import LoopbackProxy

    with LoopbackProxy() as proxy:
        model = init_chat_model(
            "openai:gpt-4o", openai_proxy=proxy.url
        )  # ChatOpenAI(model=..., openai_proxy=...)
        model.invoke("hi")
        model.close()
    assert len(proxy.seen) == 1 and "openai_proxy" not in page.requests[-1].body


def test_log_probabilities(page):
    model = init_chat_model(model="gpt-4o", model_provider="openai").bind(logprobs=True)
    response = model.invoke("Why do parrots talk?")
    print(response.response_metadata["logprobs"])
    assert response.response_metadata["logprobs"]["content"]


# --- Token usage, invocation config, configurable models ----------------------------------------------


def test_token_usage_callback_handler(page):
    model_1 = init_chat_model(model="gpt-4o-mini")
    model_2 = init_chat_model(model="claude-haiku-4-5-20251001")
    callback = UsageMetadataCallbackHandler()
    result_1 = model_1.invoke("Hello", config={"callbacks": [callback]})
    result_2 = model_2.invoke("Hello", config={"callbacks": [callback]})
    print(callback.usage_metadata)
    assert set(callback.usage_metadata) == {"gpt-4o-mini", "claude-haiku-4-5-20251001"}
    assert result_1.usage_metadata and result_2.usage_metadata


def test_token_usage_context_manager(page):
    model_1 = init_chat_model(model="gpt-4o-mini")
    model_2 = init_chat_model(model="claude-haiku-4-5-20251001")
    with get_usage_metadata_callback() as cb:
        model_1.invoke("Hello")
        model_2.invoke("Hello")
        print(cb.usage_metadata)
    assert set(cb.usage_metadata) == {"gpt-4o-mini", "claude-haiku-4-5-20251001"}


def test_invocation_config(page):
    model = init_chat_model("gpt-4.1")

    class Recorder(BaseCallbackHandler):
        def __init__(self):
            self.starts = []

        def on_chat_model_start(self, serialized, messages, **kwargs):
            self.starts.append(kwargs)

    my_callback_handler = Recorder()
    response = model.invoke(
        "Tell me a joke",
        config={
            "run_name": "joke_generation",  # Custom name for this run
            "tags": ["humor", "demo"],  # Tags for categorization
            "metadata": {"user_id": "123"},  # Custom metadata
            "callbacks": [my_callback_handler],  # Callback handlers
        },
    )
    [start] = my_callback_handler.starts
    assert response.text and start["tags"] == ["humor", "demo"] and start["metadata"]["user_id"] == "123"
    assert start["name"] == "joke_generation"


def test_configurable_model(page):
    configurable_model = init_chat_model(temperature=0)
    configurable_model.invoke("what's your name", config={"configurable": {"model": "gpt-5-nano"}})
    assert page.requests[-1].body["model"] == "gpt-5-nano"
    configurable_model.invoke(
        "what's your name", config={"configurable": {"model": "claude-sonnet-4-5-20250929"}}
    )
    assert page.requests[-1].path == "/v1/messages"


def test_configurable_model_with_defaults(page):
    first_model = init_chat_model(
        model="gpt-4.1-mini",
        temperature=0,
        configurable_fields=("model", "model_provider", "temperature", "max_tokens"),
        config_prefix="first",  # Useful when you have a chain with multiple models
    )
    first_model.invoke("what's your name")
    assert page.requests[-1].body["model"] == "gpt-4.1-mini"
    first_model.invoke(
        "what's your name",
        config={
            "configurable": {
                "first_model": "claude-sonnet-4-5-20250929",
                "first_temperature": 0.5,
                "first_max_tokens": 100,
            }
        },
    )
    body = page.requests[-1].body
    assert (body["model"], body["temperature"], body["max_tokens"]) == (
        "claude-sonnet-4-5-20250929",
        0.5,
        100,
    )


def test_configurable_model_declaratively(page):
    class GetWeather(BaseModel):
        """Get the current weather in a given location"""

        location: str = Field(..., description="The city and state, e.g. San Francisco, CA")

    class GetPopulation(BaseModel):
        """Get the current population in a given location"""

        location: str = Field(..., description="The city and state, e.g. San Francisco, CA")

    model = init_chat_model(temperature=0)
    model_with_tools = model.bind_tools([GetWeather, GetPopulation])
    calls = model_with_tools.invoke(
        "what's bigger in 2024 LA or NYC", config={"configurable": {"model": "gpt-4.1-mini"}}
    ).tool_calls
    assert calls and page.requests[-1].body["model"] == "gpt-4.1-mini"
    calls = model_with_tools.invoke(
        "what's bigger in 2024 LA or NYC",
        config={"configurable": {"model": "claude-sonnet-4-5-20250929"}},
    ).tool_calls
    assert calls and page.requests[-1].path == "/v1/messages"
