"""The strict emulator refuses what the real APIs refuse, with their error bodies; and scripts
log probabilities for every API that has them. Real HTTP on loopback, real models."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from _helpers import sum_chunks

from harness import init_chat_model
from harness.errors import ModelInvalidRequestError
from harness.testing import ProviderEmulator, Reply

ROOT = Path(__file__).resolve().parent.parent


def _model(emulator, spec, **kw):
    provider = spec.split(":")[0]
    return init_chat_model(spec, base_url=emulator.base_url(provider), api_key="k", max_retries=0, **kw)


def test_logprobs_on_anthropic_is_refused_as_anthropic_does(emulator):
    with (
        _model(emulator, "anthropic:claude-sonnet-4-5") as model,
        pytest.raises(ModelInvalidRequestError) as info,
    ):
        model.bind(logprobs=True).invoke("hi")
    assert info.value.status_code == 400
    assert info.value.body["type"] == "error"
    assert info.value.body["error"] == {
        "type": "invalid_request_error",
        "message": "logprobs: Extra inputs are not permitted",
    }
    assert emulator.requests[-1].rejected == "logprobs: Extra inputs are not permitted"


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        (
            "openai:gpt-4.1-mini",
            {
                "message": "Unrecognized request argument supplied: temprature",
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            },
        ),
        (
            "openai_responses:gpt-4.1",
            {
                "message": "Unknown parameter: 'temprature'.",
                "type": "invalid_request_error",
                "param": "temprature",
                "code": "unknown_parameter",
            },
        ),
        (
            "google_genai:gemini-2.5-flash",
            {
                "code": 400,
                "message": 'Invalid JSON payload received. Unknown name "temprature": Cannot find field.',
                "status": "INVALID_ARGUMENT",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [
                            {
                                "description": 'Invalid JSON payload received. Unknown name "temprature": '
                                "Cannot find field."
                            }
                        ],
                    }
                ],
            },
        ),
    ],
    ids=["chat", "responses", "gemini"],
)
def test_unknown_top_level_key_is_refused_with_the_providers_error(emulator, spec, error):
    with (
        _model(emulator, spec, model_kwargs={"temprature": 0.2}) as model,
        pytest.raises(ModelInvalidRequestError) as info,
    ):
        model.invoke("hi")
    assert info.value.body["error"] == error


def test_gemini_unknown_generation_config_field_names_where(emulator):
    r = httpx.post(
        emulator.base_url("google_genai") + "/v1beta/models/gemini-2.5-flash:generateContent",
        json={
            "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
            "generationConfig": {"maxTokens": 5},
        },
    )
    assert r.status_code == 400
    assert r.json()["error"]["message"] == (
        "Invalid JSON payload received. Unknown name \"maxTokens\" at 'generation_config': Cannot find field."
    )
    # proto JSON takes snake_case names too
    r = httpx.post(
        emulator.base_url("google_genai") + "/v1beta/models/gemini-2.5-flash:generateContent",
        json={
            "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
            "generation_config": {"max_output_tokens": 5},
        },
    )
    assert r.status_code == 200


def test_chat_completions_refuses_stream_options_without_stream(emulator):
    r = httpx.post(
        emulator.base_url("openai") + "/chat/completions",
        json={
            "model": "m",
            "messages": [{"role": "user", "content": "hi"}],
            "stream_options": {"include_usage": True},
        },
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "stream_options"


def test_anthropic_custom_tool_without_input_schema_is_refused(emulator):
    r = httpx.post(
        emulator.base_url("anthropic") + "/v1/messages",
        json={
            "model": "m",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"name": "f"}],
        },
        headers={"anthropic-version": "2023-06-01"},
    )
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "tools.0.custom.input_schema: Field required"


def test_a_lenient_emulator_accepts_extensions():
    with ProviderEmulator(strict=False) as emu:
        with _model(emu, "openai:my-vllm-model", model_kwargs={"chat_template_kwargs": {"x": 1}}) as model:
            assert model.invoke("hi").text == "Emulated reply to: hi"
        assert emu.requests[-1].body["chat_template_kwargs"] == {"x": 1}


# --- scripted log probabilities ---------------------------------------------------------------------------


def test_responses_logprobs_are_scripted_in_invoke_and_stream(emulator):
    reply = Reply(text="Paris is nice", chunk_chars=5)
    emulator.queue(reply, reply)
    with _model(emulator, "openai_responses:gpt-4.1", logprobs=True) as model:
        invoked = model.invoke("capital?")
        streamed = sum_chunks(list(model.stream("capital?")))
    assert emulator.requests[-1].body["include"] == ["message.output_text.logprobs"]
    tokens = [lp["token"] for lp in invoked.response_metadata["logprobs"]["content"]]
    assert tokens == ["Paris", " is n", "ice"]
    assert [lp["token"] for lp in streamed.response_metadata["logprobs"]["content"]] == tokens


def test_gemini_logprobs_are_scripted(emulator):
    emulator.queue(Reply(text="Paris"))
    with _model(emulator, "google_genai:gemini-2.5-flash", logprobs=True) as model:
        msg = model.invoke("capital?")
    assert emulator.requests[-1].body["generationConfig"]["responseLogprobs"] is True
    assert msg.response_metadata["logprobs_result"]["chosenCandidates"] == [
        {"token": "Paris", "logProbability": -0.1}
    ]


def test_request_schema_is_generated_from_the_installed_sdks():
    """With the SDK versions the file was made from, regenerating it changes nothing."""
    import json
    from importlib.metadata import PackageNotFoundError, version

    recorded = json.loads((ROOT / "harness/testing/wire/request_schema.json").read_text())["sdk_versions"]
    try:
        installed = {p: version(p) for p in recorded}
    except PackageNotFoundError as e:
        pytest.skip(f"{e.name} is not installed")
    if installed != recorded:
        pytest.skip(f"request_schema.json was generated from {recorded}; installed: {installed}")
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_request_schema.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_wrongly_typed_field_is_refused(emulator):
    r = httpx.post(
        emulator.base_url("anthropic") + "/v1/messages",
        json={"model": "m", "max_tokens": "5", "messages": []},
        headers={"anthropic-version": "2023-06-01"},
    )
    assert r.json()["error"]["message"] == "max_tokens: Input should be a valid integer"
    r = httpx.post(emulator.base_url("openai") + "/chat/completions", json={"model": "m", "messages": "hi"})
    assert r.json()["error"]["code"] == "invalid_type" and r.json()["error"]["param"] == "messages"


def test_message_and_block_fields_the_apis_do_not_take_are_refused(emulator):
    tool_msg = {"role": "tool", "tool_call_id": "c1", "content": "sunny", "name": "get_weather"}
    r = httpx.post(
        emulator.base_url("openai") + "/chat/completions", json={"model": "m", "messages": [tool_msg]}
    )
    assert (
        r.json()["error"]["message"]
        == "Additional properties are not allowed ('name' was unexpected) - 'messages.0'"
    )
    block = {"type": "text", "text": "hi", "index": 0}
    r = httpx.post(
        emulator.base_url("anthropic") + "/v1/messages",
        json={"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [block]}]},
        headers={"anthropic-version": "2023-06-01"},
    )
    assert r.json()["error"]["message"] == "messages.0.content.0.text.index: Extra inputs are not permitted"
    r = httpx.post(
        emulator.base_url("openai") + "/responses", json={"model": "m", "input": [{"type": "bogus"}]}
    )
    assert r.json()["error"]["param"] == "input[0].type" and r.json()["error"]["code"] == "invalid_value"


def test_a_tool_loop_sends_only_what_each_api_takes(emulator):
    from _helpers import get_weather

    from harness.messages.core import HumanMessage

    for spec in (
        "openai:gpt-4.1-mini",
        "openai_responses:gpt-4.1",
        "anthropic:claude-sonnet-4-5",
        "google_genai:gemini-2.5-flash",
    ):
        with _model(emulator, spec) as model:
            bound = model.bind_tools([get_weather])
            messages = [HumanMessage("Weather in Oslo?")]
            ai = bound.invoke(messages)
            messages += [ai, *(get_weather.invoke(c) for c in ai.tool_calls)]
            assert bound.invoke(messages).text.startswith("Based on the tools")
        assert emulator.requests[-1].rejected is None, spec


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"temperature": 0.2}, "`temperature` may only be set to 1 when thinking is enabled."),
        ({"max_tokens": 1500}, "`max_tokens` must be greater than `thinking.budget_tokens`."),
    ],
    ids=["temperature", "budget-over-max-tokens"],
)
def test_anthropic_thinking_rules_are_enforced(emulator, params, message):
    thinking = {"type": "enabled", "budget_tokens": 2048}
    model = _model(emulator, "anthropic:claude-sonnet-4-5", thinking=thinking, **params)
    with model, pytest.raises(ModelInvalidRequestError, match="temperature|max_tokens"):
        model.invoke("hi")
    assert emulator.requests[-1].rejected == message


def test_anthropic_forced_tool_with_thinking_is_sent_as_auto_and_accepted(emulator):
    from _helpers import get_weather

    thinking = {"type": "enabled", "budget_tokens": 2048}
    model = _model(emulator, "anthropic:claude-sonnet-4-5", thinking=thinking)
    with model, pytest.warns(UserWarning, match="forced tool_choice"):
        model.bind_tools([get_weather], tool_choice="get_weather").invoke("Weather in Oslo?")
    assert emulator.requests[-1].rejected is None
    assert emulator.requests[-1].body["tool_choice"] == {"type": "auto"}


def test_gemini_part_fields_and_roles_are_checked(emulator):
    url = emulator.base_url("google_genai") + "/v1beta/models/gemini-2.5-flash:generateContent"
    r = httpx.post(url, json={"contents": [{"role": "user", "parts": [{"text": "hi", "index": 0}]}]})
    assert r.json()["error"]["message"] == (
        "Invalid JSON payload received. Unknown name \"index\" at 'contents[0].parts[0]': Cannot find field."
    )
    r = httpx.post(url, json={"contents": [{"role": "assistant", "parts": [{"text": "hi"}]}]})
    assert r.json()["error"]["message"] == "Please use a valid role: user, model."
