"""The strict emulator on the native APIs: Ollama /api/chat (its documented fields, `{"error": ...}`),
Bedrock Converse (botocore's service model; `ValidationException` with `message` and
`x-amzn-ErrorType`) and Bedrock InvokeModel (the family's payload). Real HTTP on loopback; the
models' own requests pass (the rest of the suite runs against the same emulator)."""

from __future__ import annotations

import httpx
import pytest

from harness import init_chat_model
from harness.errors import ModelInvalidRequestError

AWS = {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG", "region_name": "us-west-2"}  # fmt: skip
CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"


def _ollama(emulator, body):
    return httpx.post(emulator.base_url("ollama") + "/api/chat", json=body)


def _converse(emulator, body, model=CLAUDE):
    return httpx.post(emulator.base_url("bedrock_converse") + f"/model/{model}/converse", json=body)


def _invoke(emulator, body, model=CLAUDE):
    return httpx.post(emulator.base_url("bedrock") + f"/model/{model}/invoke", json=body)


USER = [{"role": "user", "content": "hi"}]
CONVERSE_USER = [{"role": "user", "content": [{"text": "hi"}]}]


# --- Ollama ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"messages": USER}, "model is required"),
        (
            {"model": "llama3.2", "messages": "hi"},
            "json: cannot unmarshal string into Go struct field ChatRequest.messages of type array",
        ),
        ({"model": "llama3.2", "messages": [{"role": "bot", "content": "hi"}]}, "messages[0]: invalid role 'bot'"),
        ({"model": "llama3.2", "messages": USER, "options": {"max_tokens": 5}}, "invalid option provided: 'max_tokens'"),
        ({"model": "llama3.2", "messages": USER, "format": "yaml"}, 'invalid format: "yaml"'),
        ({"model": "llama3.2", "messages": USER, "think": "very"}, 'invalid think value: "very"'),
        (
            {
                "model": "llama3.2",
                "messages": [*USER, {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "f", "arguments": "{}"}}]}],
            },
            "json: cannot unmarshal string into Go struct field ToolCallFunction.messages.tool_calls.function.arguments",
        ),
    ],
    ids=["no-model", "messages-string", "bad-role", "unknown-option", "bad-format", "bad-think", "string-arguments"],
)  # fmt: skip
def test_ollama_refuses_what_its_server_refuses(emulator, body, error):
    r = _ollama(emulator, body)
    assert r.status_code == 400
    assert list(r.json()) == ["error"] and r.json()["error"].startswith(error)


def test_ollama_unknown_top_level_key_through_the_model(emulator):
    """Ollama's server would ignore a top-level `temprature` silently; the emulator says so."""
    with (
        init_chat_model("ollama:llama3.2", base_url=emulator.base_url("ollama"), model_kwargs={"temprature": 0.2}) as model,
        pytest.raises(ModelInvalidRequestError) as info,
    ):  # fmt: skip
        model.invoke("hi")
    assert info.value.status_code == 400
    assert info.value.body["error"].startswith("unknown field 'temprature': /api/chat takes model, messages")
    with init_chat_model("ollama:llama3.2", base_url=emulator.base_url("ollama"), temperature=0.2) as model:
        assert model.invoke("hi").text  # where the parameter belongs (options) it is accepted


# --- Bedrock Converse -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"messages": [{"role": "bot", "content": [{"text": "hi"}]}]},
            "1 validation error detected: Value 'bot' at 'messages.1.member.role' failed to satisfy "
            "constraint: Member must satisfy enum value set: [user, assistant, system]",
        ),
        (
            {"messages": [{"role": "user"}]},
            "1 validation error detected: Value null at 'messages.1.member.content' failed to satisfy "
            "constraint: Member must not be null",
        ),
        (
            {"messages": CONVERSE_USER, "inferenceConfig": {"max_tokens": 5}},
            "1 validation error detected: Value at 'inferenceConfig.max_tokens' failed to satisfy "
            "constraint: Member must be one of the fields [maxTokens, stopSequences, temperature, topP]",
        ),
        (
            {"messages": CONVERSE_USER, "toolConfig": {"tools": [{"toolSpec": {"name": "f"}}]}},
            "1 validation error detected: Value null at 'toolConfig.tools.1.member.toolSpec.inputSchema' "
            "failed to satisfy constraint: Member must not be null",
        ),
        (
            {"messages": [{"role": "assistant", "content": [{"text": "hi"}]}]},
            "A conversation must start with a user message. Try again with a conversation that starts "
            "with a user message.",
        ),
        (
            {"messages": [*CONVERSE_USER, *CONVERSE_USER]},
            "A conversation must alternate between user and assistant roles. Make sure the conversation "
            "alternates between user and assistant roles and try again.",
        ),
    ],
    ids=["bad-role", "no-content", "unknown-inference-key", "tool-without-schema", "assistant-first", "not-alternating"],
)  # fmt: skip
def test_converse_refuses_with_a_validation_exception(emulator, body, message):
    r = _converse(emulator, body)
    assert r.status_code == 400
    assert r.headers["x-amzn-errortype"].split(":")[0] == "ValidationException"
    assert r.json() == {"message": message}


def test_converse_unknown_top_level_key_through_the_model(emulator):
    r = _converse(emulator, {"messages": CONVERSE_USER, "temperature": 0.2})
    assert r.json()["message"].startswith("1 validation error detected: Value at 'temperature' failed")
    model = init_chat_model(f"bedrock_converse:{CLAUDE}", base_url=emulator.base_url("bedrock_converse"), max_retries=0, **AWS)  # fmt: skip
    with model, pytest.raises(ModelInvalidRequestError) as info:
        model.invoke([("assistant", "I speak first"), ("assistant", "twice")])
    assert info.value.status_code == 400
    assert "must start with a user message" in str(info.value)


# --- Bedrock InvokeModel --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "body", "detail"),
    [
        (CLAUDE, {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": USER, "model": CLAUDE}, "#: extraneous key [model] is not permitted"),
        (CLAUDE, {"anthropic_version": "bedrock-2023-05-31", "messages": USER}, "#: required key [max_tokens] not found"),
        (CLAUDE, {"max_tokens": 5, "messages": USER}, "#: required key [anthropic_version] not found"),
        (CLAUDE, {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}, "#/messages/0/role: system is not a valid enum value"),
        ("amazon.nova-lite-v1:0", {"schemaVersion": "messages-v1", "messages": CONVERSE_USER, "max_tokens": 5}, "#: extraneous key [max_tokens] is not permitted"),
    ],
    ids=["anthropic-model-key", "anthropic-no-max-tokens", "anthropic-no-version", "anthropic-system-role", "nova-unknown-key"],
)  # fmt: skip
def test_invoke_model_refuses_a_malformed_payload(emulator, model, body, detail):
    r = _invoke(emulator, body, model)
    assert r.status_code == 400
    assert r.headers["x-amzn-errortype"].split(":")[0] == "ValidationException"
    assert r.json() == {
        "message": f"Malformed input request: {detail}, please reformat your input and try again."
    }


def test_invoke_model_passes_anthropics_own_validation_on(emulator):
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi", "index": 0}]}],
    }
    r = _invoke(emulator, body)
    assert r.status_code == 400 and r.headers["x-amzn-errortype"].startswith("ValidationException")
    assert r.json() == {"message": "messages.0.content.0.text.index: Extra inputs are not permitted"}


def test_invoke_model_unknown_key_through_the_model(emulator):
    model = init_chat_model(f"bedrock:{CLAUDE}", base_url=emulator.base_url("bedrock"), max_retries=0, model_kwargs={"temprature": 0.2}, **AWS)  # fmt: skip
    with model, pytest.raises(ModelInvalidRequestError) as info:
        model.invoke("hi")
    assert "extraneous key [temprature] is not permitted" in str(info.value)
