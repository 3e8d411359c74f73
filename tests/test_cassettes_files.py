"""Cassette files: readable, vcrpy-loadable, other tools' cassettes load (gzip !!binary too), corrupt
files are named by file:line, writes are atomic and safe with several processes. Issue #3 item 7."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap
import threading

import httpx
import pytest
import yaml

from harness import init_chat_model
from harness.cassettes import Interaction, RecordedRequest, RecordedResponse, load_cassette, use_cassette
from harness.cassettes.store import dump_fragment, render
from harness.errors import CassetteFormatError
from harness.testing import ProviderEmulator

KEY = "sk-SENTINEL-files-0123456789abcdef"


@pytest.fixture
def emu():
    with ProviderEmulator() as e:
        yield e


def model_for(emu, base_url=None):
    return init_chat_model(
        "openai:gpt-4.1-mini", base_url=base_url or emu.base_url("openai"), api_key=KEY, max_retries=0
    )


def test_written_file_is_readable_yaml_with_decoded_bodies(emu, tmp_path):
    path = tmp_path / "readable.yaml"
    model = model_for(emu)
    with use_cassette(path, record_mode="all"):
        model.invoke("Capital of France?")
        list(model.stream("stream me"))
    text = path.read_text()
    assert "!!binary" not in text and "base64" not in text
    data = yaml.safe_load(text)
    first, second = data["interactions"]
    assert first["request"]["body"].startswith('{\n  "model": "gpt-4.1-mini"')  # pretty JSON
    assert json.loads(first["response"]["body"]["string"])["object"] == "chat.completion"
    assert second["response"]["body"]["string"].startswith("data: {")  # the stream, verbatim
    assert second["streamed"] is True and len(second["timing"]["chunks"]) > 2
    assert first["recorded_at"] and data["version"] == 1


def test_vcrpy_loads_and_replays_what_harness_wrote(emu, tmp_path):
    import vcr
    from vcr.serialize import deserialize
    from vcr.serializers import yamlserializer

    path = tmp_path / "for_vcrpy.yaml"
    model = model_for(emu)
    with use_cassette(path, record_mode="all"):
        model.invoke("hello vcrpy")
    requests, responses = deserialize(path.read_text(), yamlserializer)
    assert requests[0].method == "POST" and requests[0].uri.endswith("/v1/chat/completions")
    url = requests[0].uri
    emu.stop()
    with vcr.use_cassette(str(path), record_mode="none", match_on=["method", "uri"]):
        r = httpx.post(url, content=requests[0].body, headers={"content-type": "application/json"})
    assert r.json()["choices"][0]["message"]["content"] == "Emulated reply to: hello vcrpy"


def test_cassette_recorded_by_vcrpy_itself_replays_through_harness(emu, tmp_path):
    import vcr

    path = tmp_path / "by_vcrpy.yaml"
    url = emu.base_url("openai")
    with vcr.use_cassette(str(path), record_mode="all"):
        live = model_for(emu, url).invoke("recorded by vcrpy")
    emu.stop()
    with use_cassette(path, record_mode="none") as cas:
        again = model_for(emu, url).invoke("recorded by vcrpy")
    assert again.content == live.content and cas.state == "replayed"


def test_vcrpy_style_gzip_binary_bodies_load_and_replay(tmp_path):
    """A pytest-recording cassette whose response is gzip-compressed, stored as !!binary."""
    reply = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4.1-mini",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": "From a gzip body."},
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9},
    }
    request = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "zip?"}]}
    cassette = {
        "version": 1,
        "interactions": [
            {
                "request": {
                    "body": json.dumps(request),
                    "headers": {"Content-Type": ["application/json"]},
                    "method": "POST",
                    "uri": "https://api.openai.com/v1/chat/completions",
                },
                "response": {
                    "status": {"code": 200, "message": "OK"},
                    "headers": {"Content-Encoding": ["gzip"], "Content-Type": ["application/json"]},
                    "body": {"string": gzip.compress(json.dumps(reply).encode())},
                },
            }
        ],
    }
    path = tmp_path / "gz.yaml"
    path.write_text(yaml.safe_dump(cassette))
    assert "!!binary" in path.read_text()
    [ix] = load_cassette(path)
    assert ix.response.json()["choices"][0]["message"]["content"] == "From a gzip body."
    assert "content-encoding" not in ix.response.headers
    model = init_chat_model("openai:gpt-4.1-mini", api_key=KEY)
    with use_cassette(path, record_mode="none"):
        assert model.invoke("zip?").content == "From a gzip body."


def test_body_bytes_round_trip_exactly(tmp_path):
    """Streams are stored verbatim: CRLF, trailing blank lines, non-UTF-8 bytes all come back."""
    bodies = [
        b'data: {"a":1}\r\n\r\ndata: [DONE]\r\n\r\n',
        b"line\n\n\n",
        b"\x00\x01\xff binary",
        " leading space\nand \u00e9\n".encode(),
        b"",
    ]
    ixs = [
        Interaction(
            RecordedRequest("POST", "http://x/y", {}, b'{"a": 1}'),
            RecordedResponse(200, {"content-type": ["text/event-stream"]}, body, "OK"),
            {"ttfb_ms": 1.0, "total_ms": 2.0, "chunks": [[1.0, len(body)]] if body else []},
            True,
        )
        for body in bodies
    ]
    path = tmp_path / "rt.yaml"
    path.write_text(render([dump_fragment(ix) for ix in ixs]))
    assert [ix.response.body for ix in load_cassette(path)] == bodies


HEADERS = {
    "x-bool": ["true"],
    "x-octal": ["0012"],
    "x-null": ["null", "~"],
    "x-quote": ["it's: 'quoted' # not a comment"],
    "x-time": ["2026-12-06", "1:30"],
    "x-space": [" padded "],
}


def test_replay_serves_every_stored_body_byte_for_byte(tmp_path):
    """Replay reads a body written as a literal block by hand (not through YAML): every shape of text
    YAML's rules treat specially comes back exactly as it was recorded."""
    from harness.cassettes.matching import Matcher
    from harness.http import HarnessTransport

    bodies = [
        json.dumps({"text": "  indented\n\nlast  ", "n": [1, 2]}, indent=2).encode(),
        b'data: {"a":1}\n\ndata: [DONE]\n\n',
        b"one trailing newline\n",
        b"  leading spaces\nthen text",
        "line\u2028separator and \u00e9\nnext\x85".encode(),
        b"trailing spaces   \n   \n\nx",
        b"tab\tinside\n\ttab first",
        b"ends with blank lines\n\n\n",
        b"- looks like: yaml\n  string: |-\n    body:",
    ]
    ixs = [
        Interaction(
            RecordedRequest("POST", f"http://replay.test/{i}", {}, b'{"a": 1}'),
            RecordedResponse(200, {"content-type": ["application/json"], **HEADERS}, body, "OK"),
            {"ttfb_ms": 1.5, "total_ms": 2},
            False,
            match_key=Matcher().key("POST", f"http://replay.test/{i}", b'{"a": 1}').digest,  # as recorded
        )
        for i, body in enumerate(bodies)
    ]
    path = tmp_path / "bodies.yaml"
    path.write_text(render([dump_fragment(ix) for ix in ixs]))
    with (
        use_cassette(path, record_mode="none"),
        httpx.Client(transport=HarnessTransport(httpx.HTTPTransport())) as client,
    ):
        served = [
            client.post(f"http://replay.test/{i}", content=b'{"a": 1}').content for i in range(len(bodies))
        ]
    assert served == bodies


def test_a_hand_edited_body_block_replays_as_yaml_reads_it(tmp_path):
    """Blank lines of a literal block indented less than its text (an editor trimming them) are still
    part of the body, emptied: replay serves what YAML reads from the file."""
    from harness.cassettes.matching import Matcher
    from harness.http import HarnessTransport

    body = b"first\n\n  second\n\n\nthird"
    ix = Interaction(
        RecordedRequest("POST", "http://replay.test/x", {}, b"{}"),
        RecordedResponse(200, {"content-type": ["text/plain"]}, body, "OK"),
        {"ttfb_ms": 1.0, "total_ms": 2.0},
        False,
        match_key=Matcher().key("POST", "http://replay.test/x", b"{}").digest,
    )
    lines = render([dump_fragment(ix)]).split("\n")
    first = lines.index("        first")
    lines[first + 1], lines[first + 3] = "   ", " " * 7  # blank lines with 3 and 7 spaces
    path = tmp_path / "edited.yaml"
    path.write_text("\n".join(lines))
    expected = yaml.safe_load(path.read_text())["interactions"][0]["response"]["body"]["string"].encode()
    assert expected == body
    with (
        use_cassette(path, record_mode="none"),
        httpx.Client(transport=HarnessTransport(httpx.HTTPTransport())) as client,
    ):
        assert client.post("http://replay.test/x", content=b"{}").content == expected


@pytest.mark.parametrize(
    "text, line, what",
    [
        ("interactions:\n- request: {method: POST\n  uri: x\n", 3, "not valid YAML"),
        (
            "version: 1\ninteractions:\n- request: {method: POST, uri: 'http://x'}\n"
            "  response: {status: {code: 200}}\n- request: {method: POST, uri: 'http://y'}\n",
            5,
            "needs a `request:` and a `response:`",
        ),
        ("just: a mapping\n", None, "no `interactions:` list"),
    ],
)
def test_corrupt_cassette_names_file_and_line(tmp_path, text, line, what):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(CassetteFormatError) as info:
        load_cassette(path)
    assert info.value.path == str(path) and info.value.line == line and what in str(info.value)
    with pytest.raises(CassetteFormatError), use_cassette(path, record_mode="none"):
        init_chat_model("openai:gpt-4.1-mini", api_key=KEY, base_url="http://127.0.0.1:9/v1").invoke("x")


def test_readers_never_see_a_partial_file_while_it_is_rewritten(emu, tmp_path):
    path = tmp_path / "atomic.yaml"
    model = model_for(emu)
    errors: list[Exception] = []
    done = threading.Event()

    def reader():
        while not done.is_set():
            if path.exists():
                try:
                    load_cassette(path)
                except Exception as e:  # a torn write would show up here
                    errors.append(e)

    t = threading.Thread(target=reader)
    t.start()
    try:
        with use_cassette(path, record_mode="all"):
            for i in range(40):
                model.invoke(f"write {i}")
    finally:
        done.set()
        t.join()
    assert errors == [] and len(load_cassette(path)) == 40
    assert sorted(p.name for p in tmp_path.iterdir()) == ["atomic.yaml"]


_RECORDER = textwrap.dedent("""
    import sys
    from harness import init_chat_model
    from harness.cassettes import use_cassette
    base_url, path, worker, n, mode = sys.argv[1:6]
    model = init_chat_model("openai:gpt-4.1-mini", base_url=base_url, api_key="sk-SENTINEL-proc-000000000000")
    with use_cassette(path, record_mode=mode):
        for i in range(int(n)):
            model.invoke(f"worker {worker} call {i}")
""")


def _run_recorders(emu, paths, n, mode):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RECORDER, emu.base_url("openai"), str(p), str(w), str(n), mode],
            env=env,
            stderr=subprocess.PIPE,
        )
        for w, p in enumerate(paths)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()[-2000:]


def test_parallel_processes_record_into_one_cassette(emu, tmp_path):
    path = tmp_path / "shared.yaml"
    emu.latency = 0.002
    _run_recorders(emu, [path] * 4, 8, "new_episodes")
    prompts = sorted(ix.request.json()["messages"][0]["content"] for ix in load_cassette(path))
    assert prompts == sorted(f"worker {w} call {i}" for w in range(4) for i in range(8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared.yaml"]


def test_parallel_processes_record_into_one_directory(emu, tmp_path):
    paths = [tmp_path / "cassettes" / f"test_{w}.yaml" for w in range(4)]
    _run_recorders(emu, paths, 5, "once")
    for w, p in enumerate(paths):
        assert [ix.request.json()["messages"][0]["content"] for ix in load_cassette(p)] == [
            f"worker {w} call {i}" for i in range(5)
        ]
    assert sorted(p.name for p in (tmp_path / "cassettes").iterdir()) == [p.name for p in paths]


def test_loads_every_variant_shape(tmp_path):
    """pydantic-ai parsed_body, langchain-aws parallel lists, Ruby VCR http_interactions."""
    req = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    resp = {"ok": True}
    variants = {
        "pydantic.yaml": {
            "version": 1,
            "interactions": [
                {
                    "request": {
                        "method": "POST",
                        "uri": "https://a/v1/chat/completions",
                        "headers": {},
                        "parsed_body": req,
                    },
                    "response": {
                        "status": {"code": 200, "message": "OK"},
                        "headers": {},
                        "parsed_body": resp,
                    },
                }
            ],
        },
        "aws.yaml": {
            "requests": [{"method": "POST", "uri": "https://b/x", "headers": {}, "body": json.dumps(req)}],
            "responses": [
                {
                    "status": {"code": 200, "message": "OK"},
                    "headers": {},
                    "body": {"string": json.dumps(resp)},
                }
            ],
        },
        "ruby.yml": {
            "http_interactions": [
                {
                    "request": {
                        "method": "post",
                        "uri": "https://c/api/chat",
                        "body": {"encoding": "UTF-8", "string": json.dumps(req)},
                        "headers": {},
                    },
                    "response": {
                        "status": {"code": 200, "message": "OK"},
                        "headers": {},
                        "body": {"encoding": "UTF-8", "string": json.dumps(resp)},
                    },
                    "recorded_at": "Sat, 28 Jun 2025 04:14:24 GMT",
                }
            ],
            "recorded_with": "VCR 6.3.1",
        },
    }
    for name, data in variants.items():
        (tmp_path / name).write_text(yaml.safe_dump(data))
        [ix] = load_cassette(tmp_path / name)
        assert ix.request.method == "POST" and ix.request.json() == req and ix.response.json() == resp
