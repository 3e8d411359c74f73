"""Run in a fresh process by tests/test_cassettes_aiohttp.py: the clients that send through aiohttp —
google-genai's async client (aiohttp is installed), LiteLLM (its async calls go through
`LiteLLMAiohttpTransport`; its sync ones through the openai SDK or httpx) and a plain
`aiohttp.ClientSession` — each unchanged, inside a harness cassette of its own.

    python tests/_aiohttp_app.py record|replay|miss DIR [SCENARIO ...]   ($SDK_BASE_URLS: the emulator's URLs)

The run, the socket refusal of `replay` / `miss` and the printed JSON are tests/_sdk_app.py's.
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-map download at import

import _sdk_app  # noqa: E402  (first: in replay it refuses every socket before anything else is imported)
from _sdk_app import ANTHROPIC_KEY, ASK, GOOGLE_KEY, OPENAI_KEY, SCENARIOS, URLS, main, scenario  # noqa: E402

SCENARIOS.clear()  # only this file's scenarios


# --- google-genai's async client, on aiohttp --------------------------------------------------------------


def _genai() -> Any:
    from google import genai

    return genai.Client(api_key=GOOGLE_KEY, http_options={"base_url": URLS["google_genai"]})


@scenario
async def genai_aio_invoke() -> Any:
    client = _genai()
    async with client.aio as aio:
        reply = await aio.models.generate_content(model="gemini-2.5-flash", contents="Capital of France?")
        return {"text": reply.text, "on_aiohttp": client._api_client._use_aiohttp()}


@scenario
async def genai_aio_stream() -> Any:
    client = _genai()
    async with client.aio as aio:
        stream = await aio.models.generate_content_stream(
            model="gemini-2.5-flash", contents="Capital of France?"
        )
        return {
            "texts": [c.text async for c in stream if c.text],
            "on_aiohttp": client._api_client._use_aiohttp(),
        }


# --- plain aiohttp ----------------------------------------------------------------------------------------


@scenario
async def aiohttp_post() -> Any:
    import aiohttp

    body = {"model": "gpt-4.1-mini", "messages": ASK}
    headers = {"Authorization": f"Bearer {OPENAI_KEY}"}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.post(URLS["openai"] + "/chat/completions", json=body) as response,
    ):
        return (await response.json())["choices"][0]["message"]["content"]


@scenario
async def aiohttp_stream() -> Any:
    import aiohttp

    body = {"model": "claude-haiku-4-5", "max_tokens": 100, "messages": ASK, "stream": True}
    async with aiohttp.ClientSession() as session:
        headers = {"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"}
        async with session.post(URLS["anthropic"] + "/v1/messages", json=body, headers=headers) as response:
            return [line.decode().strip() async for line in response.content if line.startswith(b"event:")]


# --- LiteLLM ----------------------------------------------------------------------------------------------

LITELLM = {
    "openai": {"model": "openai/gpt-4.1-mini", "api_base": URLS["openai"], "api_key": OPENAI_KEY},
    "anthropic": {
        "model": "anthropic/claude-haiku-4-5",
        "api_base": URLS["anthropic"],
        "api_key": ANTHROPIC_KEY,
        "max_tokens": 100,
    },
}


def _texts(chunks: list[Any]) -> list[str]:
    return [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]


def _litellm_scenarios(provider: str, kw: dict[str, Any]) -> None:
    def completion() -> Any:
        import litellm

        return litellm.completion(messages=ASK, **kw).choices[0].message.content

    def completion_stream() -> Any:
        import litellm

        return _texts(list(litellm.completion(messages=ASK, stream=True, **kw)))

    async def acompletion() -> Any:
        import litellm

        return (await litellm.acompletion(messages=ASK, **kw)).choices[0].message.content

    async def acompletion_stream() -> Any:
        import litellm

        stream = await litellm.acompletion(messages=ASK, stream=True, **kw)
        return _texts([c async for c in stream])

    for fn in (completion, completion_stream, acompletion, acompletion_stream):
        fn.__name__ = f"litellm_{provider}_{fn.__name__}"
        scenario(fn)


for _provider, _kw in LITELLM.items():
    _litellm_scenarios(_provider, _kw)

if __name__ == "__main__":
    assert _sdk_app.MODE in ("record", "replay", "miss")
    main()
