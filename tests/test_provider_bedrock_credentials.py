"""When Bedrock looks for AWS credentials: only as a request goes live. Replaying a cassette, and
`harness cassettes show`, never look for them — no botocore chain, no instance-metadata call, no
socket at all — and a recording is signed at send time and writes no secret."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket

import pytest
from click.testing import CliRunner

from harness import aws, init_chat_model
from harness.cassettes import load_cassette, use_cassette
from harness.cli.cassettes import cassettes_group
from harness.errors import SecretLeakError
from harness.testing import Reply

MODEL_ID = "anthropic.claude-3-5-sonnet-20240620-v1:0"
KEY, SECRET, TOKEN = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "SESSIONTOKEN-EXAMPLE"
AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/(\d{8})/us-west-2/bedrock/aws4_request, "
    r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$"
)


@pytest.fixture
def no_aws(monkeypatch, tmp_path):
    """No AWS variable at all (AWS_EC2_METADATA_DISABLED unset too), an empty home, and nothing this
    process resolved earlier: botocore's chain would end at the instance-metadata service."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(aws, "_chain", {})
    monkeypatch.setattr(aws, "_sessions", {})


@pytest.fixture
def block_sockets(monkeypatch):
    """Call it to make every connection and name lookup raise. It returns the attempts, since botocore
    swallows the errors of its metadata calls."""
    attempts: list[str] = []

    def refuse(what):
        def blocked(*args, **kwargs):
            attempts.append(f"{what}{args[1:] if what == 'connect' else args[:2]}")
            raise OSError(f"test: {what} is blocked")

        return blocked

    def block():
        monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
        monkeypatch.setattr(socket.socket, "connect_ex", refuse("connect"))
        monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
        return attempts

    return block


def _signed_model(emulator, **kw):
    return init_chat_model(
        f"bedrock_converse:{MODEL_ID}",
        base_url=emulator.base_url("bedrock_converse"),
        region_name="us-west-2",
        **kw,
    )


def _record(emulator, path):
    emulator.queue("recorded answer", Reply(text="streamed answer", chunk_chars=4))
    model = _signed_model(
        emulator, aws_access_key_id=KEY, aws_secret_access_key=SECRET, aws_session_token=TOKEN
    )
    with use_cassette(path, record_mode="once"):
        model.invoke("question")
        list(model.stream("stream it"))


def test_replay_with_no_aws_credentials_opens_no_socket(emulator, tmp_path, no_aws, block_sockets):
    cassette = tmp_path / "bedrock.yaml"
    _record(emulator, cassette)
    attempts = block_sockets()
    keyless = init_chat_model(f"bedrock_converse:{MODEL_ID}", base_url=emulator.base_url("bedrock_converse"))
    with use_cassette(cassette, record_mode="none"):
        assert keyless.invoke("question").content == "recorded answer"
        assert "".join(c.text for c in keyless.stream("stream it")) == "streamed answer"
    with use_cassette(cassette, record_mode="none", allow_playback_repeats=True):
        assert asyncio.run(keyless.ainvoke("question")).content == "recorded answer"
    shown = CliRunner().invoke(cassettes_group, ["show", str(cassette), "--json"], catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    assert [i["provider"] for i in json.loads(shown.output)] == ["bedrock_converse"] * 2
    assert attempts == []


@pytest.mark.parametrize("source", ["environment", "shared credentials file"])
def test_recording_signs_as_the_request_leaves_and_writes_no_secret(
    emulator, tmp_path, monkeypatch, no_aws, source
):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    if source == "environment":
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    else:
        creds = tmp_path / "credentials"
        creds.write_text(
            f"[default]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n"
            f"aws_session_token = {TOKEN}\n"
        )
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    cassette = tmp_path / "signed.yaml"
    with use_cassette(cassette, record_mode="once"):
        _signed_model(emulator).invoke("sign me")
    wire = emulator.requests_for("bedrock_converse")[-1]
    match = AUTH.match(wire.headers["authorization"])
    assert match and wire.headers["x-amz-security-token"] == TOKEN
    request = AWSRequest(
        method="POST",
        url=emulator.url + wire.path,
        data=wire.raw,
        headers={k: wire.headers[k] for k in ("content-type", "x-amz-date", "x-amz-security-token")},
    )
    request.context["timestamp"] = wire.headers["x-amz-date"]
    signer = SigV4Auth(Credentials(KEY, SECRET, TOKEN), "bedrock", "us-west-2")
    assert match.group(3) == signer.signature(
        signer.string_to_sign(request, signer.canonical_request(request)), request
    )
    text = cassette.read_text()
    assert SECRET not in text and TOKEN not in text and match.group(3) not in text
    asyncio.run(_signed_model(emulator).ainvoke("async, live"))  # the async transport signs alike
    assert AUTH.match(emulator.requests_for("bedrock_converse")[-1].headers["authorization"])
    [ix] = load_cassette(cassette)
    assert ix.provider == "bedrock_converse"
    assert ix.request.headers["authorization"] == ix.request.headers["x-amz-security-token"] == "<REDACTED>"
    # the secret key itself is never sent, yet the credentials found at send time are checked for:
    # a reply that echoes it is refused
    emulator.queue(f"your key is {SECRET}")
    with pytest.raises(SecretLeakError), use_cassette(tmp_path / "leak.yaml", record_mode="once"):
        _signed_model(emulator).invoke("leak it")
    assert not (tmp_path / "leak.yaml").exists() or SECRET not in (tmp_path / "leak.yaml").read_text()


def test_show_reads_the_provider_a_cassette_names_without_guessing_from_the_url(emulator, tmp_path):
    cassette = tmp_path / "gateway.yaml"
    _record(emulator, cassette)
    # as if recorded through a gateway whose URL no adapter recognises
    url = emulator.base_url("bedrock_converse") + "/model/"
    text = cassette.read_text().replace(url, "https://gateway.example/bedrock-model/")
    cassette.write_text(text)
    shown = CliRunner().invoke(cassettes_group, ["show", str(cassette), "--json"], catch_exceptions=False)
    [first, second] = json.loads(shown.output)
    assert first["provider"] == "bedrock_converse" and first["reply"]["text"] == "recorded answer"
    assert second["streamed"] and second["reply"]["text"] == "streamed answer"
    # a cassette another tool wrote names no provider: the URL is all there is to go on
    cassette.write_text(re.sub(r"(?m)^  provider: .*\n", "", text))
    shown = CliRunner().invoke(cassettes_group, ["show", str(cassette), "--json"], catch_exceptions=False)
    assert [i["provider"] for i in json.loads(shown.output)] == [None, None]
