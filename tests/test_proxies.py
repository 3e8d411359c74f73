"""Proxies: `proxy=`, LangChain's `openai_proxy=` and the HTTP(S)_PROXY / ALL_PROXY / NO_PROXY
environment, honoured as plain httpx honours them, through a real forwarding proxy on loopback."""

from __future__ import annotations

import asyncio
import socket

import pytest
from _proxy import LoopbackProxy

from harness import init_chat_model
from harness.cassettes import use_cassette
from harness.errors import ConfigurationError, ModelConnectionError
from harness.testing import Reply

KEY = "sk-test-key"


@pytest.fixture
def proxy():
    with LoopbackProxy() as p:
        yield p


@pytest.fixture(autouse=True)
def no_env_proxies(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "OPENAI_PROXY", "ANTHROPIC_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def _model(emu, provider="openai:gpt-4.1-mini", base="openai", **kwargs):
    return init_chat_model(provider, base_url=emu.base_url(base), api_key=KEY, max_retries=0, **kwargs)


@pytest.mark.parametrize("argument", ["proxy", "openai_proxy"])
def test_proxy_argument_routes_the_call_through_the_proxy_and_stays_out_of_the_body(
    emulator, proxy, argument
):
    emulator.queue(Reply(text="via proxy"))
    model = _model(emulator, **{argument: proxy.url})
    try:
        assert model.invoke("hi").text == "via proxy"
    finally:
        model.close()
    assert proxy.seen == [emulator.base_url("openai") + "/chat/completions"]
    assert argument not in emulator.requests[-1].body


@pytest.mark.parametrize(
    ("provider", "base"),
    [("anthropic:claude-sonnet-4-5", "anthropic"), ("google_genai:gemini-2.5-flash", "google_genai")],
)
def test_environment_proxy_is_used_by_every_provider_sync_and_async(
    emulator, proxy, monkeypatch, provider, base
):
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    model = _model(emulator, provider, base)

    async def main():
        try:
            return (await model.ainvoke("hi")).text
        finally:
            await model.aclose()

    try:
        assert model.invoke("hi").text
        assert asyncio.run(main())
    finally:
        model.close()
    assert len(proxy.seen) == 2
    assert all(url.startswith(emulator.base_url(base).split("/v1")[0]) for url in proxy.seen)


@pytest.mark.parametrize(
    ("variable", "provider", "base"),
    [
        ("OPENAI_PROXY", "openai:gpt-4.1-mini", "openai"),
        ("ANTHROPIC_PROXY", "anthropic:claude-sonnet-4-5", "anthropic"),
    ],
)
def test_langchains_provider_proxy_variable_is_honoured(
    emulator, proxy, monkeypatch, variable, provider, base
):
    monkeypatch.setenv(variable, proxy.url)
    model = _model(emulator, provider, base)
    try:
        model.invoke("hi")
    finally:
        model.close()
    assert len(proxy.seen) == 1
    other = _model(emulator, "google_genai:gemini-2.5-flash", "google_genai")  # not Gemini's variable
    try:
        other.invoke("hi")
    finally:
        other.close()
    assert len(proxy.seen) == 1


def test_all_proxy_is_honoured(emulator, proxy, monkeypatch):
    monkeypatch.setenv("ALL_PROXY", proxy.url)
    model = _model(emulator)
    try:
        model.invoke("hi")
    finally:
        model.close()
    assert len(proxy.seen) == 1


def test_https_proxy_carries_calls_to_the_real_endpoints(proxy, monkeypatch):
    # a user behind a corporate proxy: the default https endpoint is reached only through a tunnel
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    connect = socket.create_connection

    def loopback_only(address, *args, **kwargs):
        assert address[0] == "127.0.0.1", f"went to {address} around the proxy"
        return connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", loopback_only)
    model = init_chat_model("anthropic:claude-sonnet-4-5", api_key=KEY, max_retries=0)
    try:
        with pytest.raises(ModelConnectionError, match="403"):
            model.invoke("hi")
    finally:
        model.close()
    assert proxy.seen == ["CONNECT api.anthropic.com:443"]


def test_no_proxy_sends_matching_hosts_directly(emulator, proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "example.com,127.0.0.1")
    model = _model(emulator)
    try:
        assert model.invoke("hi").text
    finally:
        model.close()
    assert proxy.seen == [] and len(emulator.requests) == 1


def test_replay_with_a_proxy_set_opens_no_socket(emulator, proxy, monkeypatch, tmp_path):
    path = tmp_path / "proxied.yaml"
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    model = _model(emulator, proxy=proxy.url)
    emulator.queue(Reply(text="recorded"))
    with use_cassette(path, record_mode="all"):
        model.invoke("hi")
    model.close()
    assert len(proxy.seen) == 1

    def refuse(*a, **k):
        raise AssertionError("replay opened a socket")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    replaying = _model(emulator, proxy=proxy.url)
    try:
        with use_cassette(path, record_mode="none"):
            assert replaying.invoke("hi").text == "recorded"
    finally:
        replaying.close()
    assert len(proxy.seen) == 1


def test_proxy_beside_an_own_http_client_is_refused_in_one_line(emulator):
    import httpx

    with (
        httpx.Client() as client,
        pytest.raises(ConfigurationError, match="set the proxy on your own client"),
    ):
        _model(emulator, proxy="http://127.0.0.1:9", http_client=client)


@pytest.mark.parametrize("source", ["argument", "environment"])
def test_a_malformed_proxy_url_is_one_line_without_its_password(emulator, monkeypatch, source):
    """`harness invoke ... -p proxy=...` printed httpx's traceback; the refusal masks the password."""
    from click.testing import CliRunner

    from harness.cli import cli

    url = "htp://bob:PROXY-SENTINEL-pw-0123456789@127.0.0.1:9"
    args = [
        "invoke",
        "openai:gpt-4.1-mini",
        "hi",
        "--base-url",
        emulator.base_url("openai"),
        "-p",
        'api_key="sk-x"',
    ]
    if source == "argument":
        args += ["-p", f'proxy="{url}"']
    else:
        monkeypatch.setenv("OPENAI_PROXY", url)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert (
        result.stderr.startswith("error: proxy 'htp://bob:<REDACTED>@127.0.0.1:9': ")
        and "Traceback" not in result.output
    )
    assert "PROXY-SENTINEL" not in result.output
