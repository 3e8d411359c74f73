"""Azure OpenAI adapter, over real loopback HTTP through the provider emulator."""

from __future__ import annotations

import time

import pytest
from _helpers import PNG, stream_message
from pydantic import BaseModel

from harness.errors import (
    ConfigurationError,
    MissingAPIKeyError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelRateLimitError,
)
from harness.messages.core import HumanMessage, ToolMessage
from harness.models.init import init_chat_model
from harness.providers import adapter_for_url
from harness.testing import Fault, Reply, ToolCallSpec


@pytest.fixture(autouse=True)
def no_azure_env(monkeypatch):
    for var in (
        "AZURE_OPENAI_API_KEY",
        "AZURE_OPENAI_ENDPOINT",
        "AZURE_OPENAI_AD_TOKEN",
        "OPENAI_API_VERSION",
    ):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def model(emu):
    emu.clear()
    return init_chat_model(
        "azure_openai:gpt-4o",
        azure_endpoint=emu.base_url("azure_openai"),
        azure_deployment="prod-4o",
        api_version="2024-10-21",
        api_key="azure-key",
    )


def test_invoke_wire_format(emu, model):
    msg = model.invoke("Hello there")
    req = emu.requests[-1]
    assert req.path == "/openai/deployments/prod-4o/chat/completions"
    assert req.query == {"api-version": "2024-10-21"}
    assert req.headers["api-key"] == "azure-key" and "authorization" not in req.headers
    assert req.body["messages"] == [{"role": "user", "content": "Hello there"}]
    assert req.provider == "azure_openai" and req.parsed.model == "prod-4o"
    assert msg.text == "Emulated reply to: Hello there"
    assert model.model_provider == "azure_openai"
    meta = msg.response_metadata
    assert meta["finish_reason"] == "stop" and meta["model_provider"] == "azure_openai"
    assert meta["prompt_filter_results"][0]["content_filter_results"]["hate"]["filtered"] is False
    assert meta["content_filter_results"]["violence"] == {"filtered": False, "severity": "safe"}


def test_deployment_defaults_to_model_and_settings_come_from_env(emu, monkeypatch):
    emu.clear()
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "env-key")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", emu.base_url("azure_openai") + "/")
    monkeypatch.setenv("OPENAI_API_VERSION", "2025-04-01-preview")
    init_chat_model("azure_openai:gpt-4o-mini").invoke("hi")
    req = emu.requests[-1]
    assert req.path == "/openai/deployments/gpt-4o-mini/chat/completions"
    assert req.query["api-version"] == "2025-04-01-preview" and req.headers["api-key"] == "env-key"


def test_entra_id_token_is_sent_as_bearer_and_replaces_the_key(emu):
    emu.clear()
    m = init_chat_model(
        "azure_openai:gpt-4o",
        azure_endpoint=emu.base_url("azure_openai"),
        api_version="2024-10-21",
        azure_ad_token="entra-token",
    )
    assert m.adapter.missing_key is None
    m.invoke("hi")
    headers = emu.requests[-1].headers
    assert headers["authorization"] == "Bearer entra-token" and "api-key" not in headers


def test_missing_endpoint_or_version_is_a_clear_configuration_error(emu):
    with pytest.raises(ConfigurationError, match="AZURE_OPENAI_ENDPOINT"):
        init_chat_model("azure_openai:gpt-4o", api_key="k", api_version="2024-10-21").invoke("hi")
    with pytest.raises(ConfigurationError, match="OPENAI_API_VERSION"):
        init_chat_model(
            "azure_openai:gpt-4o", api_key="k", azure_endpoint=emu.base_url("azure_openai")
        ).invoke("hi")


def test_emulator_answers_404_without_api_version(emu):
    import httpx

    r = httpx.post(
        emu.url + "/openai/deployments/x/chat/completions",
        json={"messages": [{"role": "user", "content": "hi"}]},
    )
    assert r.status_code == 404 and "api-version" in r.json()["error"]["message"]


def test_v1_endpoint_uses_deployment_as_model_without_api_version(emu):
    emu.clear()
    m = init_chat_model(
        "azure_openai:gpt-4o",
        azure_endpoint=emu.url + "/openai/v1",
        azure_deployment="prod-4o",
        api_key="azure-key",
    )
    assert m.invoke("hi").text == "Emulated reply to: hi"
    req = emu.requests[-1]
    assert req.path == "/openai/v1/chat/completions" and req.query == {}
    assert req.body["model"] == "prod-4o" and req.headers["api-key"] == "azure-key"


def test_responses_api_on_azure(emu):
    emu.clear()
    m = init_chat_model(
        "azure_openai:gpt-4.1",
        azure_endpoint=emu.base_url("azure_openai"),
        api_key="azure-key",
        use_responses_api=True,
    )
    emu.queue(Reply(text="from responses", reasoning="hmm"))
    msg = m.invoke("hi", reasoning={"effort": "low", "summary": "auto"})
    req = emu.requests[-1]
    assert req.path == "/openai/v1/responses" and req.headers["api-key"] == "azure-key"
    assert req.body["model"] == "gpt-4.1" and req.body["input"] == [{"role": "user", "content": "hi"}]
    assert msg.text == "from responses" and msg.content_blocks[0]["reasoning"] == "hmm"


def test_stream_sums_to_invoke(emu, model):
    reply = Reply(
        text="Paris, and the weather:",
        tool_calls=[ToolCallSpec("weather", {"city": "Paris"})],
        usage={"input_tokens": 30, "output_tokens": 9, "cache_read": 16, "reasoning": 4},
    )
    emu.queue(reply, reply)
    invoked = model.invoke("q")
    streamed = stream_message(model.stream("q"))
    assert emu.requests[-1].body["stream"] is True
    assert emu.requests[-1].body["stream_options"] == {"include_usage": True}
    assert streamed.content == invoked.content == "Paris, and the weather:"
    assert streamed.tool_calls == invoked.tool_calls
    assert streamed.usage_metadata == invoked.usage_metadata
    assert (
        streamed.response_metadata["finish_reason"]
        == invoked.response_metadata["finish_reason"]
        == "tool_calls"
    )


def test_usage_details_cached_and_reasoning(emu, model):
    emu.queue(
        Reply(text="x", usage={"input_tokens": 100, "output_tokens": 20, "cache_read": 64, "reasoning": 12})
    )
    assert model.invoke("q").usage_metadata == {
        "input_tokens": 100,
        "output_tokens": 20,
        "total_tokens": 120,
        "input_token_details": {"audio": 0, "cache_read": 64},
        "output_token_details": {"audio": 0, "reasoning": 12},
    }


def weather(city: str) -> str:
    """Current weather in a city."""
    return f"sunny in {city}"


def test_tool_loop_with_parallel_calls(emu, model):
    bound = model.bind_tools([weather])
    emu.queue(
        Reply(
            tool_calls=[
                ToolCallSpec("weather", {"city": "Paris"}, "call_a"),
                ToolCallSpec("weather", {"city": "Rome"}, "call_b"),
            ]
        ),
        Reply(text="Both sunny."),
    )
    messages = [HumanMessage("Weather in Paris and Rome?")]
    ai = bound.invoke(messages)
    assert emu.requests[-1].body["tools"][0]["function"]["name"] == "weather"
    assert [c["id"] for c in ai.tool_calls] == ["call_a", "call_b"]
    messages += [ai, *[ToolMessage(weather(**c["args"]), tool_call_id=c["id"]) for c in ai.tool_calls]]
    assert bound.invoke(messages).text == "Both sunny."
    sent = emu.requests[-1].body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "tool"]
    assert [(t["id"], t["function"]["name"], t["function"]["arguments"]) for t in sent[1]["tool_calls"]] == [
        ("call_a", "weather", '{"city": "Paris"}'),
        ("call_b", "weather", '{"city": "Rome"}'),
    ]
    assert [(m["tool_call_id"], m["content"]) for m in sent[2:]] == [
        ("call_a", "sunny in Paris"),
        ("call_b", "sunny in Rome"),
    ]
    assert emu.requests[-1].path == "/openai/deployments/prod-4o/chat/completions"


class City(BaseModel):
    city: str
    country: str


CITY_SCHEMA = {
    "title": "City",
    "type": "object",
    "required": ["city", "country"],
    "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
}


@pytest.mark.parametrize("schema", [City, CITY_SCHEMA], ids=["pydantic", "dict"])
@pytest.mark.parametrize("method", ["json_schema", "function_calling", "json_mode"])
def test_structured_output(emu, model, schema, method):
    if method == "function_calling":
        emu.queue(Reply(tool_calls=[ToolCallSpec("City", {"city": "Paris", "country": "France"})]))
    else:
        emu.queue(Reply(text='{"city": "Paris", "country": "France"}'))
    out = model.with_structured_output(schema, method=method, include_raw=True).invoke(
        "Capital of France? JSON"
    )
    body = emu.requests[-1].body
    if method == "json_schema":
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["name"] == "City"
    elif method == "json_mode":
        assert body["response_format"] == {"type": "json_object"}
    else:
        assert body["tool_choice"] == {"type": "function", "function": {"name": "City"}}
    parsed = out["parsed"]
    assert (parsed.city if isinstance(parsed, City) else parsed["city"]) == "Paris"
    assert out["parsing_error"] is None


def test_image_input(emu, model):
    model.invoke(
        [
            HumanMessage(
                content=[
                    {"type": "text", "text": "what is it"},
                    {"type": "image", "base64": PNG, "mime_type": "image/png"},
                ]
            )
        ]
    )
    parts = emu.requests[-1].body["messages"][0]["content"]
    assert parts[1] == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}


def test_rate_limit_is_retried_honouring_retry_after(emu, model):
    emu.queue(Fault.rate_limit(retry_after=0.3), Reply(text="ok"))
    t0 = time.monotonic()
    assert model.invoke("q").text == "ok"
    assert time.monotonic() - t0 >= 0.28 and len(emu.requests) == 2


def test_errors_are_classified_and_not_retried(emu, model):
    emu.queue(
        Fault.http(400, "The response was filtered due to the prompt triggering content management policy.")
    )
    with pytest.raises(ModelInvalidRequestError, match="content management policy"):
        model.invoke("q")
    emu.queue(Fault.http(404, "The API deployment for this resource does not exist."))
    with pytest.raises(ModelNotFoundError):
        model.invoke("q")
    assert len(emu.requests) == 2
    emu.queue(*[Fault.rate_limit(retry_after=0.01)] * 3)
    with pytest.raises(ModelRateLimitError) as info:
        model.invoke("q")
    assert info.value.retry_after == pytest.approx(0.01)  # read from retry-after-ms


def test_content_filter_finish_reason_is_kept(emu, model):
    emu.queue(Reply(text="", finish_reason="content_filter"))
    msg = model.invoke("q")
    assert msg.response_metadata["finish_reason"] == "content_filter"
    assert msg.response_metadata["content_filter_results"]["hate"]["filtered"] is True


def test_recognises_azure_urls():
    base = "https://res.openai.azure.com/openai"
    assert (
        adapter_for_url(f"{base}/deployments/gpt-4o/chat/completions?api-version=2024-10-21").name
        == "azure_openai"
    )
    assert adapter_for_url(f"{base}/v1/chat/completions").name == "azure_openai"
    assert adapter_for_url(f"{base}/v1/responses").name == "openai_responses"
    assert adapter_for_url("https://api.openai.com/v1/chat/completions").name == "openai"
    recorded = adapter_for_url(f"{base}/deployments/gpt-4o/chat/completions").for_recorded()
    assert (
        recorded.model_from_request(f"{base}/deployments/gpt-4o/chat/completions?api-version=1", {})
        == "gpt-4o"
    )


def test_missing_credentials_name_both_variables(emu):
    m = init_chat_model(
        "azure_openai:gpt-4o", azure_endpoint=emu.base_url("azure_openai"), api_version="2024-10-21"
    )
    with pytest.raises(MissingAPIKeyError, match="AZURE_OPENAI_API_KEY or AZURE_OPENAI_AD_TOKEN"):
        m.invoke("hi")
