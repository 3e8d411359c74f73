"""Secrets never reach disk: one sentinel per auth scheme, then every written byte is grepped.
Issue #3 item 6."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from harness import init_chat_model
from harness.cassettes import load_cassette, use_cassette
from harness.errors import SecretLeakError
from harness.http import HarnessTransport
from harness.testing import Fault, ProviderEmulator

BEARER = "sk-SENTINEL-bearer-00000000000000000000"
X_API_KEY = "sk-ant-SENTINEL-xapikey-1111111111111111"
AZURE_KEY = "SENTINELazureapikey22222222222222"
GOOG_KEY = "AIzaSENTINELgoogheader33333333333333333"
QUERY_KEY = "AIzaSENTINELquerykey444444444444444444"
AWS_KEY_ID = "AKIASENTINEL55555555"
AWS_SIGNATURE = "5e" * 32
AWS_TOKEN = "SENTINELsessiontoken666666666666666666666666"
COOKIE = "SENTINELcookievalue7777777777777"
SET_COOKIE = "SENTINELsetcookie8888888888888888"
ORG = "org-SENTINELorganisation999999"
PROJECT = "proj_SENTINELproject000000000"
BASIC_PASSWORD = "SENTINELbasicpassword11111111"
ALL = [
    BEARER,
    X_API_KEY,
    AZURE_KEY,
    GOOG_KEY,
    QUERY_KEY,
    AWS_KEY_ID,
    AWS_SIGNATURE,
    AWS_TOKEN,
    COOKIE,
    SET_COOKIE,
    ORG,
    PROJECT,
    BASIC_PASSWORD,
]


@pytest.fixture
def emu():
    with ProviderEmulator() as e:
        yield e


def every_written_byte(root) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def assert_nothing_leaked(root, secrets=ALL):
    data = every_written_byte(root)
    assert data, "nothing was written"
    for s in secrets:
        for form in (s.encode(), base64.b64encode(s.encode())):
            assert form not in data, f"{s[:12]}... reached disk"


def test_bearer_key_of_a_chat_model_is_scrubbed(emu, tmp_path):
    model = init_chat_model("openai:gpt-4.1-mini", base_url=emu.base_url("openai"), api_key=BEARER)
    with use_cassette(tmp_path / "c.yaml", record_mode="all"):
        model.invoke("hello")
        list(model.stream("hello again"))
    assert emu.requests[0].headers["authorization"] == f"Bearer {BEARER}"  # it did go over the wire
    assert_nothing_leaked(tmp_path)
    assert load_cassette(tmp_path / "c.yaml")[0].request.headers["authorization"] == "<REDACTED>"


@pytest.mark.parametrize(
    "scheme, path, headers",
    [
        ("x-api-key", "/v1/messages", {"x-api-key": X_API_KEY, "anthropic-version": "2023-06-01"}),
        ("api-key", "/openai/deployments/d/chat/completions?api-version=2024-10-21", {"api-key": AZURE_KEY}),
        ("x-goog-api-key", "/v1beta/models/gemini-2.5-flash:generateContent", {"x-goog-api-key": GOOG_KEY}),
        ("?key=", f"/v1beta/models/gemini-2.5-flash:generateContent?key={QUERY_KEY}&alt=sse", {}),
        (
            "sigv4",
            "/model/anthropic.claude/converse",
            {
                "authorization": f"AWS4-HMAC-SHA256 Credential={AWS_KEY_ID}/20250101/us-east-1/bedrock/aws4_request, "
                f"SignedHeaders=host;x-amz-date;x-amz-security-token, Signature={AWS_SIGNATURE}",
                "x-amz-security-token": AWS_TOKEN,
                "x-amz-date": "20250101T000000Z",
            },
        ),
        ("cookie", "/anything", {"cookie": f"session={COOKIE}; theme=dark"}),
        (
            "org/project",
            "/v1/chat/completions",
            {"authorization": f"Bearer {BEARER}", "openai-organization": ORG, "openai-project": PROJECT},
        ),
        (
            "basic",
            "/anything",
            {"authorization": "Basic " + base64.b64encode(f"user:{BASIC_PASSWORD}".encode()).decode()},
        ),
    ],
)
def test_every_auth_scheme_is_scrubbed_from_raw_requests(emu, tmp_path, scheme, path, headers):
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    with (
        httpx.Client(transport=HarnessTransport()) as client,
        use_cassette(tmp_path / "raw.yaml", record_mode="all") as cas,
    ):
        r = client.post(emu.url + path, json=body, headers=headers)
    assert r.status_code < 600 and cas.recorded_count == 1
    assert_nothing_leaked(tmp_path)
    [ix] = load_cassette(tmp_path / "raw.yaml")
    if scheme == "?key=":
        assert "key=%3CREDACTED%3E" in ix.request.uri or "key=<REDACTED>" in ix.request.uri
        assert "alt=sse" in ix.request.uri
    else:
        for name in headers:
            if name not in ("anthropic-version", "x-amz-date"):
                assert ix.request.headers[name] == "<REDACTED>"
    if scheme == "sigv4":
        assert ix.request.headers["x-amz-date"] == "20250101T000000Z"  # not a secret: may stay


def test_set_cookie_and_org_ids_in_responses_are_scrubbed(emu, tmp_path):
    emu.queue(
        Fault(
            "status",
            429,
            "slow down",
            headers={"set-cookie": f"__cf_bm={SET_COOKIE}; path=/", "openai-organization": ORG},
        )
    )
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    with (
        httpx.Client(transport=HarnessTransport()) as client,
        use_cassette(tmp_path / "resp.yaml", record_mode="all", record_errors=True),
    ):
        r = client.post(
            emu.base_url("openai") + "/chat/completions",
            json=body,
            headers={"authorization": f"Bearer {BEARER}"},
        )
    assert r.status_code == 429 and SET_COOKIE in r.headers["set-cookie"]  # the caller still saw it
    assert_nothing_leaked(tmp_path)
    [ix] = load_cassette(tmp_path / "resp.yaml")
    assert ix.response.headers["set-cookie"] == "<REDACTED>"


def test_user_patterns_are_scrubbed_everywhere(emu, tmp_path):
    model = init_chat_model("openai:gpt-4.1-mini", base_url=emu.base_url("openai"), api_key=BEARER)
    with use_cassette(tmp_path / "p.yaml", record_mode="all", scrub_patterns=[r"acct_[0-9]{6}"]):
        reply = model.invoke("my account is acct_123456, please echo it")
        list(model.stream("streamed acct_654321 too"))
    assert "acct_123456" in reply.content  # the live caller is unaffected
    text = (tmp_path / "p.yaml").read_text()
    assert "acct_123456" not in text and "acct_654321" not in text
    assert text.count("<REDACTED>") >= 4
    # the streamed body stays consistent with its recorded chunk boundaries
    stream_ix = load_cassette(tmp_path / "p.yaml")[1]
    assert sum(c[1] for c in stream_ix.timing["chunks"]) == len(stream_ix.response.body)


def test_a_write_that_still_holds_the_live_key_is_refused(emu, tmp_path):
    model = init_chat_model("openai:gpt-4.1-mini", base_url=emu.base_url("openai"), api_key=BEARER)
    path = tmp_path / "leak.yaml"
    with use_cassette(path, record_mode="all") as cas:
        model.invoke("harmless")
        with pytest.raises(SecretLeakError) as info:
            model.invoke(f"my key is {BEARER}")  # the body would carry it to disk
    assert BEARER not in str(info.value) and "scrub_patterns" in str(info.value)
    assert cas.recorded_count == 1
    assert_nothing_leaked(tmp_path)
    assert len(load_cassette(path)) == 1  # the harmless interaction was still written


def test_explicit_secrets_are_refused_too(emu, tmp_path):
    model = init_chat_model("openai:gpt-4.1-mini", base_url=emu.base_url("openai"), api_key=BEARER)
    with (
        use_cassette(tmp_path / "s.yaml", record_mode="all", secrets=["hunter2-database-password"]),
        pytest.raises(SecretLeakError),
    ):
        model.invoke("the password is hunter2-database-password")
    assert not (tmp_path / "s.yaml").exists() or b"hunter2" not in every_written_byte(tmp_path)


def test_a_scrub_pattern_lets_the_write_through(emu, tmp_path):
    model = init_chat_model("openai:gpt-4.1-mini", base_url=emu.base_url("openai"), api_key=BEARER)
    with use_cassette(tmp_path / "ok.yaml", record_mode="all", scrub_patterns=[r"sk-SENTINEL-[\w-]+"]):
        model.invoke(f"my key is {BEARER}")
    assert_nothing_leaked(tmp_path)
    body = load_cassette(tmp_path / "ok.yaml")[0].request.json()
    assert json.dumps(body).count("<REDACTED>") == 1


def test_a_request_scrubbed_by_a_pattern_still_replays(emu, tmp_path, monkeypatch):
    """The stored request holds <REDACTED> where the live one holds the value: matching must scrub the
    live request the same way, or a cassette recorded with scrub_patterns could never replay."""
    model = init_chat_model("openai:gpt-4.1-mini", base_url=emu.base_url("openai"), api_key=BEARER)
    path = tmp_path / "scrubbed.yaml"
    with use_cassette(path, record_mode="once", scrub_patterns=[r"alice@example\.com"]):
        live = model.invoke("mail alice@example.com")
    sent = len(emu.requests)
    with use_cassette(path, record_mode="none", scrub_patterns=[r"alice@example\.com"]) as cas:
        again = model.invoke("mail alice@example.com")
    assert cas.state == "replayed" and len(emu.requests) == sent
    assert again.content == live.content.replace("alice@example.com", "<REDACTED>")


def test_a_secret_that_never_goes_on_the_wire_is_still_refused(tmp_path):
    """Bedrock signs with the secret access key but never sends it; the chat layer hands the
    adapter's secrets to the cassette, so a prompt that quotes it is refused all the same."""
    secret = "SENTINELawssecretaccesskey8888888888888"
    with ProviderEmulator() as emu:
        model = init_chat_model(
            "bedrock_converse:amazon.nova-micro-v1:0",
            base_url=emu.base_url("bedrock_converse"),
            region_name="us-east-1",
            aws_access_key_id="AKIAEXAMPLEKEYID0000",
            aws_secret_access_key=secret,
        )
        path = tmp_path / "aws.yaml"
        with pytest.raises(SecretLeakError), use_cassette(path, record_mode="all"):
            model.invoke(f"my secret is {secret}")
    assert not path.exists() or secret.encode() not in path.read_bytes()


def test_a_very_short_dummy_key_does_not_block_recording(tmp_path):
    """Test keys like "x" would match everywhere; values under 8 characters are scrubbed from the
    auth headers as usual but not searched for in bodies."""
    with ProviderEmulator() as emu:
        model = init_chat_model("anthropic:claude-haiku-4-5", base_url=emu.base_url("anthropic"), api_key="x")
        path = tmp_path / "short.yaml"
        with use_cassette(path, record_mode="all") as cas:
            model.invoke("Write a haiku about boxes")
    assert cas.recorded_count == 1
    assert b"<REDACTED>" in path.read_bytes()


def test_a_failed_write_does_not_hide_the_error_that_ended_the_block(tmp_path, caplog):
    folder = tmp_path / "cassettes"
    folder.mkdir()
    with ProviderEmulator() as emu:
        model = init_chat_model("openai:gpt-4.1-mini", base_url=emu.base_url("openai"), api_key=BEARER)
        with pytest.raises(ZeroDivisionError), use_cassette(folder / "c.yaml", record_mode="all"):
            model.invoke("first")
            folder.rename(tmp_path / "moved")
            folder.write_text("a file where the cassette's folder was")  # every later write fails
            model.invoke("second")
            raise ZeroDivisionError("the user's own error is what propagates")
    assert "2 new recordings were not written" in caplog.text  # a failed block writes nothing
