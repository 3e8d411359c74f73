"""Run in a fresh process by tests/test_cassettes_sdks.py: each scenario calls one library, unchanged, inside
a harness cassette of its own (`<dir>/<scenario>.yaml`).

    python tests/_sdk_app.py record|replay|miss DIR [SCENARIO ...]   ($SDK_BASE_URLS: the emulator's URLs)

`replay` and `miss` refuse every socket before anything is imported, so a scenario that would go live
fails. Prints one JSON object: scenario -> {"out": what the library returned, "state": the cassette's
state, "calls": interactions recorded or replayed, "misses"}; with `miss` (cassettes that do not exist)
"out" is the name of the exception the scenario raised.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import Callable
from typing import Any

MODE, DIR = sys.argv[1], sys.argv[2]
ONLY = set(sys.argv[3:])
URLS: dict[str, str] = json.loads(os.environ["SDK_BASE_URLS"])
# sentinel keys: the test searches every byte written for "SENTINEL"
OPENAI_KEY = "sk-SENTINEL-openai-0123456789abcdef0123"
ANTHROPIC_KEY = "sk-ant-SENTINEL-anthropic-0123456789abcdef"
GOOGLE_KEY = "AIzaSENTINEL-google-0123456789abcdef0123"
AZURE_KEY = "SENTINEL-azure-0123456789abcdef0123456789"

if MODE in ("replay", "miss"):

    def _refuse(*args: Any, **kwargs: Any) -> Any:
        raise OSError("replay opened a socket")

    socket.socket.connect = _refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = _refuse  # type: ignore[method-assign]
    socket.create_connection = _refuse
    socket.getaddrinfo = _refuse

from pydantic import BaseModel  # noqa: E402

from harness.cassettes import use_cassette  # noqa: E402

SCENARIOS: dict[str, Callable[[], Any]] = {}


def scenario(fn: Callable[[], Any]) -> Callable[[], Any]:
    SCENARIOS[fn.__name__] = fn
    return fn


class Capital(BaseModel):
    city: str
    country: str


WEATHER = {
    "name": "get_weather",
    "description": "Get the weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
ASK = [{"role": "user", "content": "Capital of France?"}]


# --- openai ---------------------------------------------------------------------------------------------


def _openai() -> Any:
    import openai

    return openai.OpenAI(base_url=URLS["openai"], api_key=OPENAI_KEY)


@scenario
def openai_invoke() -> Any:
    with _openai() as client:
        return client.chat.completions.create(model="gpt-4.1-mini", messages=ASK).choices[0].message.content


@scenario
def openai_stream() -> Any:
    with _openai() as client:
        stream = client.chat.completions.create(model="gpt-4.1-mini", messages=ASK, stream=True)
        return [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]


@scenario
async def openai_astream() -> Any:
    import openai

    async with openai.AsyncOpenAI(base_url=URLS["openai"], api_key=OPENAI_KEY) as client:
        stream = await client.chat.completions.create(model="gpt-4.1-mini", messages=ASK, stream=True)
        return [c.choices[0].delta.content async for c in stream if c.choices and c.choices[0].delta.content]


@scenario
def openai_tools() -> Any:
    with _openai() as client:
        reply = client.chat.completions.create(
            model="gpt-4.1-mini",
            messages=[{"role": "user", "content": "Weather in Paris?"}],
            tools=[{"type": "function", "function": WEATHER}],
        )
        return [
            (c.function.name, json.loads(c.function.arguments)) for c in reply.choices[0].message.tool_calls
        ]


@scenario
def openai_structured() -> Any:
    with _openai() as client:
        reply = client.chat.completions.parse(model="gpt-4.1-mini", messages=ASK, response_format=Capital)
        return reply.choices[0].message.parsed.model_dump()


@scenario
def openai_responses() -> Any:
    with _openai() as client:
        return client.responses.create(model="gpt-4.1-mini", input="Capital of France?").output_text


# --- anthropic ------------------------------------------------------------------------------------------


def _anthropic() -> Any:
    import anthropic

    return anthropic.Anthropic(base_url=URLS["anthropic"], api_key=ANTHROPIC_KEY)


CLAUDE = {"model": "claude-haiku-4-5", "max_tokens": 100}


@scenario
def anthropic_invoke() -> Any:
    with _anthropic() as client:
        return client.messages.create(**CLAUDE, messages=ASK).content[0].text


@scenario
def anthropic_stream() -> Any:
    with _anthropic() as client, client.messages.stream(**CLAUDE, messages=ASK) as stream:
        return list(stream.text_stream)


@scenario
async def anthropic_astream() -> Any:
    import anthropic

    client = anthropic.AsyncAnthropic(base_url=URLS["anthropic"], api_key=ANTHROPIC_KEY)
    async with client, client.messages.stream(**CLAUDE, messages=ASK) as stream:
        return [t async for t in stream.text_stream]


@scenario
def anthropic_tools() -> Any:
    tool = {
        "name": WEATHER["name"],
        "description": WEATHER["description"],
        "input_schema": WEATHER["parameters"],
    }
    with _anthropic() as client:
        reply = client.messages.create(
            **CLAUDE, messages=[{"role": "user", "content": "Weather in Paris?"}], tools=[tool]
        )
        return [(b.name, b.input) for b in reply.content if b.type == "tool_use"]


@scenario
def anthropic_structured() -> Any:
    with _anthropic() as client:
        reply = client.messages.parse(**CLAUDE, messages=ASK, output_format=Capital)
        return reply.parsed_output.model_dump()


# --- google-genai ---------------------------------------------------------------------------------------


def _genai() -> Any:
    from google import genai

    return genai.Client(api_key=GOOGLE_KEY, http_options={"base_url": URLS["google_genai"]})


@scenario
def genai_invoke() -> Any:
    with _genai() as client:
        return client.models.generate_content(model="gemini-2.5-flash", contents="Capital of France?").text


@scenario
def genai_stream() -> Any:
    with _genai() as client:
        stream = client.models.generate_content_stream(
            model="gemini-2.5-flash", contents="Capital of France?"
        )
        return [c.text for c in stream if c.text]


@scenario
async def genai_astream() -> Any:
    async with _genai().aio as client:
        stream = await client.models.generate_content_stream(
            model="gemini-2.5-flash", contents="Capital of France?"
        )
        return [c.text async for c in stream if c.text]


@scenario
def genai_structured() -> Any:
    with _genai() as client:
        reply = client.models.generate_content(
            model="gemini-2.5-flash",
            contents="Capital of France?",
            config={"response_mime_type": "application/json", "response_schema": Capital},
        )
        return reply.parsed.model_dump()


# --- LangChain ------------------------------------------------------------------------------------------


def _chat_openai() -> Any:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(model="gpt-4.1-mini", base_url=URLS["openai"], api_key=OPENAI_KEY)


def _chat_anthropic() -> Any:
    from langchain_anthropic import ChatAnthropic

    return ChatAnthropic(model="claude-haiku-4-5", base_url=URLS["anthropic"], api_key=ANTHROPIC_KEY)


def _weather(city: str) -> str:
    """Get the weather for a city."""
    return f"sunny in {city}"


@scenario
def langchain_openai_invoke() -> Any:
    return _chat_openai().invoke("Capital of France?").content


@scenario
def langchain_openai_stream() -> Any:
    return [c.content for c in _chat_openai().stream("Capital of France?") if c.content]


@scenario
async def langchain_openai_astream() -> Any:
    return [c.content async for c in _chat_openai().astream("Capital of France?") if c.content]


@scenario
def langchain_openai_tools() -> Any:
    reply = _chat_openai().bind_tools([_weather]).invoke("Weather in Paris?")
    return [(c["name"], c["args"]) for c in reply.tool_calls]


@scenario
def langchain_openai_structured() -> Any:
    return _chat_openai().with_structured_output(Capital).invoke("Capital of France?").model_dump()


@scenario
def langchain_openai_batch() -> Any:
    # LangChain's batch runs in a thread pool that copies the context: the cassette goes along
    return [m.content for m in _chat_openai().batch(["Capital of France?", "Capital of Spain?"])]


@scenario
def langchain_anthropic_invoke() -> Any:
    return _chat_anthropic().invoke("Capital of France?").content


@scenario
def langchain_anthropic_stream() -> Any:
    return [c.content for c in _chat_anthropic().stream("Capital of France?") if c.content]


@scenario
async def langchain_anthropic_astream() -> Any:
    return [c.content async for c in _chat_anthropic().astream("Capital of France?") if c.content]


@scenario
def langchain_anthropic_tools() -> Any:
    reply = _chat_anthropic().bind_tools([_weather]).invoke("Weather in Paris?")
    return [(c["name"], c["args"]) for c in reply.tool_calls]


@scenario
def langchain_anthropic_structured() -> Any:
    return _chat_anthropic().with_structured_output(Capital).invoke("Capital of France?").model_dump()


# --- pydantic-ai -----------------------------------------------------------------------------------------


def _agent(output_type: Any = str) -> Any:
    from pydantic_ai import Agent
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    provider = OpenAIProvider(base_url=URLS["openai"], api_key=OPENAI_KEY)
    return Agent(OpenAIChatModel("gpt-4.1-mini", provider=provider), output_type=output_type)


@scenario
def pydantic_ai_run() -> Any:
    return _agent().run_sync("Capital of France?").output


@scenario
async def pydantic_ai_stream() -> Any:
    async with _agent().run_stream("Capital of France?") as run:
        return [text async for text in run.stream_text(delta=True)]


@scenario
def pydantic_ai_structured() -> Any:
    return _agent(Capital).run_sync("Capital of France?").output.model_dump()


# --- plain httpx, with the auth other APIs use ------------------------------------------------------------


@scenario
def httpx_api_key_header() -> Any:
    import httpx

    with httpx.Client() as client:
        url = URLS["openai"] + "/chat/completions"
        body = {"model": "gpt-4.1-mini", "messages": ASK}
        return client.post(url, json=body, headers={"api-key": AZURE_KEY}).json()["choices"][0]["message"]


@scenario
def httpx_x_api_key() -> Any:
    import httpx

    body = {**CLAUDE, "messages": ASK}
    headers = {"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"}
    with httpx.Client() as client:
        return client.post(URLS["anthropic"] + "/v1/messages", json=body, headers=headers).json()["content"]


@scenario
def httpx_key_in_query() -> Any:
    import httpx

    url = URLS["google_genai"] + "/v1beta/models/gemini-2.5-flash:generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "Capital of France?"}]}]}
    return httpx.post(url, params={"key": GOOGLE_KEY}, json=body).json()["candidates"][0]["content"]


# --- the run ----------------------------------------------------------------------------------------------


async def _run_async(fn: Callable[[], Any], cas: Any) -> Any:
    async with cas:
        return await fn()


def _run(fn: Callable[[], Any], cas: Any) -> Any:
    try:
        if asyncio.iscoroutinefunction(fn):
            return asyncio.run(_run_async(fn, cas))
        with cas:
            return fn()
    except Exception as e:
        if MODE != "miss":
            raise
        return type(e).__name__


def main() -> None:
    results = {}
    for name, fn in SCENARIOS.items():
        if ONLY and name not in ONLY:
            continue
        cas = use_cassette(
            os.path.join(DIR, name + ".yaml"), record_mode="once" if MODE == "record" else "none"
        )
        out = _run(fn, cas)
        calls = cas.recorded_count + cas.replayed_count
        results[name] = {"out": out, "state": cas.state, "calls": calls, "misses": cas.misses}
    print(json.dumps(results))


if __name__ == "__main__":
    main()
