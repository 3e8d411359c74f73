"""Real recorded cassettes from other projects ($HARNESS_CORPUS): every file loads, `harness cassettes
show --json` reads each one, and each recorded request replays its recorded answer offline."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from harness.cassettes import load_cassette, use_cassette
from harness.cli.cassettes import cassettes_group
from harness.http import HarnessTransport

pytestmark = pytest.mark.corpus

CORPUS = os.environ.get("HARNESS_CORPUS")
FILES = sorted(p for p in Path(CORPUS).rglob("*") if p.suffix in (".yaml", ".yml")) if CORPUS else []


def _id(p: Path) -> str:
    return str(p.relative_to(CORPUS)) if CORPUS else str(p)


@pytest.fixture(autouse=True)
def _needs_corpus():
    if not CORPUS:
        pytest.skip("HARNESS_CORPUS is not set")


def test_corpus_is_present():
    assert FILES, f"no cassettes under {CORPUS}"


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_every_corpus_file_loads_and_shows_as_json(path):
    interactions = load_cassette(path)
    assert interactions
    for ix in interactions:
        assert ix.request.method in ("GET", "POST") and 100 <= ix.response.status <= 599
    res = CliRunner().invoke(cassettes_group, ["show", str(path), "--json"], catch_exceptions=False)
    assert res.exit_code == 0
    shown = json.loads(res.output)
    assert len(shown) == len(interactions)
    for item in shown:
        assert {"provider", "endpoint", "model", "streamed", "reply"} <= set(item)
        if item["reply"] is not None:
            assert {"text", "tool_calls", "usage_metadata", "finish_reason"} <= set(item["reply"])
    text = CliRunner().invoke(cassettes_group, ["show", str(path)], catch_exceptions=False)
    assert text.exit_code == 0


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_every_corpus_request_replays_its_recorded_answer_offline(path, monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("replay opened a socket")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    interactions = [ix for ix in load_cassette(path) if ix.request.uri.startswith("http")]
    if not interactions:
        pytest.skip("no replayable URL (scrubbed host)")
    with (
        httpx.Client(transport=HarnessTransport()) as client,
        use_cassette(path, record_mode="none", strict=True) as cas,
    ):
        for ix in interactions:
            r = client.request(ix.request.method, ix.request.uri, content=ix.request.body)
            assert r.status_code == ix.response.status
            assert r.content == ix.response.body
    assert cas.replayed_count == len(interactions)
