"""`model.profile` as on LangChain's models page ("Model profiles"): what the model supports, from the
table harness ships (harness/data/profiles.yaml), replaced by `profile=` at init or `model_copy`."""

from __future__ import annotations

import typing

import pytest

from harness import init_chat_model
from harness.errors import ConfigurationError


@pytest.fixture
def keys(monkeypatch):
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", "AWS_BEARER_TOKEN_BEDROCK"):
        monkeypatch.setenv(name, "key-for-profiles")
    monkeypatch.setenv("AWS_REGION", "us-east-1")


def test_models_page_profile_example(keys):
    # the page's example: the profile of a known model, read with .get as the page advises
    model = init_chat_model("gpt-5")
    profile = model.profile
    assert profile["max_input_tokens"] == 272000
    assert profile.get("image_inputs") is True
    assert profile.get("reasoning_output") is True
    assert profile.get("tool_calling") is True
    assert profile.get("structured_output") is True


def test_models_page_custom_profile(keys):
    custom_profile = {
        "max_input_tokens": 100_000,
        "tool_calling": True,
        "structured_output": True,
        # ...
    }
    model = init_chat_model("claude-sonnet-4-5", profile=custom_profile)
    assert model.profile == custom_profile
    custom_profile["tool_calling"] = False  # the model took a copy
    assert model.profile["tool_calling"] is True


def test_models_page_updating_a_profile_with_model_copy(keys):
    model = init_chat_model("gpt-4.1-mini")
    new_profile = model.profile | {"key": "value"}
    copied = model.model_copy(update={"profile": new_profile})
    assert copied.profile["key"] == "value" and copied.profile["max_input_tokens"] == 1047576
    assert "key" not in model.profile  # the original keeps its own
    with pytest.raises(ConfigurationError, match="cannot set 'no_such_field'"):
        model.model_copy(update={"no_such_field": 1})


@pytest.mark.parametrize(
    ("spec", "kwargs", "expected"),
    [
        ("openai:gpt-4.1-mini-2025-04-14", {}, {"max_input_tokens": 1047576, "reasoning_output": False}),
        ("anthropic:claude-sonnet-4-5-20250929", {}, {"max_output_tokens": 64000, "reasoning_output": True}),
        ("google_genai:gemini-2.5-flash", {}, {"video_inputs": True, "audio_inputs": True}),
        (
            "bedrock_converse:us.anthropic.claude-haiku-4-5-20251001-v1:0",
            {},
            {"max_input_tokens": 200000, "image_url_inputs": False},
        ),
        ("bedrock:amazon.nova-micro-v1:0", {}, {"image_inputs": False, "max_input_tokens": 128000}),
    ],
    ids=["openai-snapshot", "anthropic", "gemini", "bedrock-region-prefix", "bedrock-invoke"],
)
def test_packaged_profiles_match_dated_snapshots_and_prefixes(keys, spec, kwargs, expected):
    profile = init_chat_model(spec, **kwargs).profile
    assert {k: profile.get(k) for k in expected} == expected


def test_an_azure_deployment_named_like_an_openai_model_has_its_profile(keys, monkeypatch):
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://example-resource.openai.azure.com")
    monkeypatch.setenv("OPENAI_API_VERSION", "2025-03-01-preview")
    assert init_chat_model("azure_openai:gpt-4.1").profile["max_input_tokens"] == 1047576
    assert init_chat_model("azure_openai:my-deployment").profile == {}


def test_every_priced_model_has_a_profile(keys):
    from harness.pricing import load_prices
    from harness.profiles import model_profile

    missing = [
        f"{provider}:{name}"
        for provider, models in load_prices().prices.items()
        for name in models
        if name != "*" and not model_profile(provider, name).get("max_input_tokens")
    ]
    assert missing == []


def test_profile_keys_are_langchains(keys):
    from langchain_core.language_models.model_profile import ModelProfile

    from harness.profiles import _table

    declared = set(typing.get_type_hints(ModelProfile))
    used = {k for models in _table().values() for entry in models.values() for k in entry}
    assert used <= declared, used - declared


def test_unknown_model_has_an_empty_profile(keys, emulator, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", emulator.base_url("ollama"))
    assert init_chat_model("ollama:llama3.2").profile == {}
    assert init_chat_model("openai:my-finetune", base_url=emulator.base_url("openai")).profile == {}


def test_a_profile_that_is_not_a_dict_is_refused(keys):
    with pytest.raises(ConfigurationError, match="profile= must be a dict"):
        init_chat_model("gpt-4.1", profile="big")


def test_the_langchain_bridge_carries_the_profile(keys):
    from harness.langchain import to_langchain

    lc = to_langchain(init_chat_model("gpt-4.1"))
    assert lc.profile["max_output_tokens"] == 32768
    assert to_langchain(init_chat_model("gpt-4.1", profile={"tool_calling": False})).profile == {
        "tool_calling": False
    }


def test_a_configurable_model_gives_its_default_models_profile(keys):
    model = init_chat_model("gpt-4.1", configurable_fields=("temperature",))
    try:
        assert model.profile["max_output_tokens"] == 32768
    finally:
        model.close()
