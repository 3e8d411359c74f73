"""Record modes (vcrpy semantics; all/rewrite replace the file atomically), defaults from the
environment, misses explained, unused interactions reported. Issue #3 items 3, 4 and 5."""

from __future__ import annotations

import logging
import socket

import pytest

from harness import init_chat_model
from harness.cassettes import load_cassette, use_cassette
from harness.errors import CassetteMissError, CassetteUnusedError, ConfigurationError
from harness.messages.core import AIMessage, HumanMessage, ToolMessage
from harness.testing import Fault, ProviderEmulator, Reply, ToolCallSpec

KEY = "sk-SENTINEL-modes-0123456789abcdef"


@pytest.fixture
def emu():
    with ProviderEmulator() as e:
        yield e


def model_for(emu):
    return init_chat_model("openai:gpt-4.1-mini", base_url=emu.base_url("openai"), api_key=KEY, max_retries=0)


def record(emu, path, *prompts, mode="all"):
    model = model_for(emu)
    with use_cassette(path, record_mode=mode):
        return [model.invoke(p).content for p in prompts]


def block_sockets(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("replay opened a socket")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


# --- modes -------------------------------------------------------------------------------------------------


def test_none_replays_and_raises_on_a_miss_without_sending(emu, tmp_path):
    path = tmp_path / "c.yaml"
    record(emu, path, "known")
    sent = len(emu.requests)
    model = model_for(emu)
    with use_cassette(path, record_mode="none") as cas:
        assert model.invoke("known").content == "Emulated reply to: known"
        with pytest.raises(CassetteMissError):
            model.invoke("unknown")
    assert len(emu.requests) == sent
    assert cas.misses == 1 and cas.replayed_count == 1


def test_none_without_a_file_is_a_miss(emu, tmp_path):
    with (
        use_cassette(tmp_path / "absent.yaml", record_mode="none"),
        pytest.raises(CassetteMissError, match="does not exist"),
    ):
        model_for(emu).invoke("x")
    assert not (tmp_path / "absent.yaml").exists()


def test_once_records_a_new_file_then_only_replays(emu, tmp_path):
    path = tmp_path / "once.yaml"
    record(emu, path, "a", "b", mode="once")
    assert len(load_cassette(path)) == 2
    model = model_for(emu)
    with use_cassette(path, record_mode="once") as cas:
        assert model.invoke("a").content.endswith("a")
        with pytest.raises(CassetteMissError):
            model.invoke("c")
    assert cas.state == "replayed"
    assert len(load_cassette(path)) == 2


def test_new_episodes_replays_matches_and_records_the_rest(emu, tmp_path):
    path = tmp_path / "ne.yaml"
    record(emu, path, "a")
    sent = len(emu.requests)
    model = model_for(emu)
    with use_cassette(path, record_mode="new_episodes") as cas:
        model.invoke("a")
        model.invoke("b")
    assert len(emu.requests) == sent + 1
    assert cas.state == "mixed" and (cas.replayed_count, cas.recorded_count) == (1, 1)
    assert [ix.request.json()["messages"][0]["content"] for ix in load_cassette(path)] == ["a", "b"]


@pytest.mark.parametrize("mode", ["all", "rewrite"])
def test_all_and_rewrite_replace_the_file_without_stale_interactions(emu, tmp_path, mode):
    path = tmp_path / "all.yaml"
    record(emu, path, "old 1", "old 2")
    sent = len(emu.requests)
    model = model_for(emu)
    with use_cassette(path, record_mode=mode) as cas:
        model.invoke("old 1")  # re-recorded live, not replayed
        model.invoke("new")
    assert len(emu.requests) == sent + 2 and cas.state == "recorded"
    assert [ix.request.json()["messages"][0]["content"] for ix in load_cassette(path)] == ["old 1", "new"]
    assert not [p for p in tmp_path.iterdir() if p.name != "all.yaml"]  # no temp files left behind


@pytest.mark.parametrize("mode", ["all", "rewrite"])
def test_all_and_rewrite_replace_a_corrupt_file_instead_of_refusing_it(emu, tmp_path, mode):
    path = tmp_path / "broken.yaml"
    path.write_text("interactions: [\n  - {request: \n", encoding="utf-8")  # hand-edited, truncated
    model = model_for(emu)
    with use_cassette(path, record_mode=mode) as cas:
        model.invoke("fresh")
    assert cas.state == "recorded"
    assert [ix.request.json()["messages"][0]["content"] for ix in load_cassette(path)] == ["fresh"]


def test_an_interrupted_once_recording_leaves_no_half_cassette(emu, tmp_path):
    """Ctrl-C cancels the session after its first call was written: in `once` mode that file would
    replay the first call and refuse to record the rest, so it must not survive."""
    import asyncio

    path = tmp_path / "cut.yaml"
    model = model_for(emu)
    emu.queue(Reply(text="first"), Fault.timeout(delay=5))

    async def session() -> None:
        async with use_cassette(path, record_mode="once"):
            await model.ainvoke("turn 1")
            await model.ainvoke("turn 2")  # stalls: cancelled while in flight

    async def main() -> None:
        task = asyncio.create_task(session())
        while len(emu.requests) < 2:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # the first interaction's background write has happened
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert not path.exists()
    emu.clear()
    with use_cassette(path, record_mode="once") as cas:  # the next run records the whole session
        assert model.invoke("turn 1").content == "Emulated reply to: turn 1"
        model.invoke("turn 2")
    assert cas.state == "recorded" and len(load_cassette(path)) == 2


@pytest.mark.parametrize("mode", ["all", "rewrite"])
def test_an_interrupted_rerecording_keeps_the_previous_cassette(emu, tmp_path, mode):
    """Ctrl-C while re-recording: the old cassette is worth more than half of a new one."""
    import asyncio

    path = tmp_path / "keep.yaml"
    record(emu, path, "old 1", "old 2", mode="once")
    before = path.read_bytes()
    model = model_for(emu)
    emu.queue(Reply(text="new first"), Fault.timeout(delay=5))
    sent = len(emu.requests)

    async def session() -> None:
        async with use_cassette(path, record_mode=mode):
            await model.ainvoke("new 1")
            await model.ainvoke("new 2")  # stalls: cancelled while in flight

    async def main() -> None:
        task = asyncio.create_task(session())
        while len(emu.requests) < sent + 2:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # the first new interaction has replaced the file by now
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert path.read_bytes() == before


def test_all_mode_that_records_nothing_leaves_the_file_alone(emu, tmp_path):
    path = tmp_path / "keep.yaml"
    record(emu, path, "a")
    before = path.read_bytes()
    with use_cassette(path, record_mode="all"):
        pass
    assert path.read_bytes() == before


def test_default_record_mode_from_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("HARNESS_RECORD_MODE", raising=False)
    monkeypatch.delenv("CI", raising=False)
    assert use_cassette(tmp_path / "x.yaml").record_mode == "once"
    monkeypatch.setenv("CI", "true")
    assert use_cassette(tmp_path / "x.yaml").record_mode == "none"
    monkeypatch.setenv("HARNESS_RECORD_MODE", "new_episodes")
    assert use_cassette(tmp_path / "x.yaml").record_mode == "new_episodes"
    assert use_cassette(tmp_path / "x.yaml", record_mode="all").record_mode == "all"
    monkeypatch.setenv("HARNESS_RECORD_MODE", "sometimes")
    with pytest.raises(ConfigurationError, match="HARNESS_RECORD_MODE.*'sometimes'.*none, once"):
        use_cassette(tmp_path / "x.yaml")


def test_bad_arguments_are_one_clear_line(tmp_path):
    with pytest.raises(ConfigurationError, match="record_mode: unknown record mode 'replay'"):
        use_cassette(tmp_path / "x.yaml", record_mode="replay")
    with pytest.raises(ConfigurationError, match="replay_speed"):
        use_cassette(tmp_path / "x.yaml", replay_speed="fast")


# --- matching ----------------------------------------------------------------------------------------------


def test_matching_ignores_key_order_auth_query_and_loopback_port(emu, tmp_path, monkeypatch):
    """A raw request with reordered JSON keys, another ?key= value and another port still matches."""
    import httpx

    from harness.http import HarnessTransport

    path = tmp_path / "raw.yaml"
    url = emu.base_url("openai") + "/chat/completions?key=AIzaLIVEKEY0000000000&beta=true"
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0}
    with httpx.Client(transport=HarnessTransport()) as client:
        with use_cassette(path, record_mode="all"):
            client.post(url, json=body)
        emu.stop()
        block_sockets(monkeypatch)
        other = "http://localhost:1/v1/chat/completions?beta=true&key=AIzaOTHERKEY000000000"
        reordered = b'{"temperature":0,"messages":[{"content":"hi","role":"user"}],"model":"m"}'
        with use_cassette(path, record_mode="none") as cas:
            r = client.post(other, content=reordered, headers={"content-type": "application/json"})
    assert r.status_code == 200 and cas.replayed_count == 1
    assert "AIzaLIVEKEY" not in path.read_text()


def test_provider_generated_ids_from_earlier_turns_do_not_break_matching(emu, tmp_path, monkeypatch):
    path = tmp_path / "ids.yaml"
    model = model_for(emu)
    emu.queue(Reply(text="done"))

    def conversation(call_id):
        return [
            HumanMessage("weather?"),
            AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Oslo"}, "id": call_id}]),
            ToolMessage("sunny", tool_call_id=call_id),
        ]

    with use_cassette(path, record_mode="all"):
        model.invoke(conversation("call_RECORDED_1"))
    emu.stop()
    block_sockets(monkeypatch)
    with use_cassette(path, record_mode="none"):
        assert model.invoke(conversation("call_REGENERATED_9")).content == "done"


def test_match_ignore_leaves_listed_fields_out(emu, tmp_path, monkeypatch):
    path = tmp_path / "ignore.yaml"
    model = model_for(emu)
    with use_cassette(path, record_mode="all"):
        model.invoke("hi", temperature=0.1, user="run-1")
    emu.stop()
    block_sockets(monkeypatch)
    with use_cassette(path, record_mode="none", match_ignore=["user", "temperature"]):
        model.invoke("hi", temperature=0.9, user="run-2")
    with use_cassette(path, record_mode="none"), pytest.raises(CassetteMissError):
        model.invoke("hi", temperature=0.9, user="run-2")


def test_miss_names_cassette_request_nearest_and_diff(emu, tmp_path):
    path = tmp_path / "miss.yaml"
    model = model_for(emu)
    from harness import tool

    @tool
    def lookup(city: str) -> str:
        """Look a city up."""
        return city

    with use_cassette(path, record_mode="all"):
        model.bind_tools([lookup]).invoke([("system", "Be brief."), ("user", "Weather in Paris?")])
        model.invoke("something else entirely, unrelated")
    with use_cassette(path, record_mode="none"), pytest.raises(CassetteMissError) as info:
        model.bind_tools([lookup]).invoke([("system", "Be brief."), ("user", "Weather in Lyon?")])
    msg = str(info.value)
    assert str(path) in msg and info.value.cassette == str(path)
    assert "model=gpt-4.1-mini" in msg and "last message user: 'Weather in Lyon?'" in msg
    assert "tools: lookup" in msg
    assert "nearest recorded (#0)" in msg and "'Weather in Paris?'" in msg
    assert '-      "content": "Weather in Paris?",' in msg and '+      "content": "Weather in Lyon?",' in msg
    assert "new_episodes" in msg


def test_exhausted_identical_answers_is_a_miss_unless_repeats_allowed(emu, tmp_path):
    path = tmp_path / "rep.yaml"
    record(emu, path, "same")
    model = model_for(emu)
    with use_cassette(path, record_mode="none"):
        model.invoke("same")
        with pytest.raises(CassetteMissError, match="already played"):
            model.invoke("same")
    with use_cassette(path, record_mode="none", allow_playback_repeats=True):
        assert model.invoke("same").content == model.invoke("same").content


# --- unused interactions ------------------------------------------------------------------------------------


def test_unused_interactions_are_reported_and_strict_fails(emu, tmp_path, caplog):
    path = tmp_path / "unused.yaml"
    record(emu, path, "a", "b", "c")
    model = model_for(emu)
    with (
        caplog.at_level(logging.WARNING, logger="harness.cassettes"),
        use_cassette(path, record_mode="none") as cas,
    ):
        model.invoke("a")
    assert [ix.request.json()["messages"][0]["content"] for ix in cas.unused()] == ["b", "c"]
    assert cas.play_counts[0] == 1
    assert "2 of 3 recorded interactions were never played" in caplog.text
    with (
        pytest.raises(CassetteUnusedError, match="#1.*'b'"),
        use_cassette(path, record_mode="none", strict=True),
    ):
        model.invoke("a")


def test_strict_does_not_mask_the_error_that_ended_the_block(emu, tmp_path):
    path = tmp_path / "s.yaml"
    record(emu, path, "a", "b")
    with pytest.raises(KeyError), use_cassette(path, record_mode="none", strict=True):
        raise KeyError("boom")


def test_tool_call_ids_in_replies_survive_replay(emu, tmp_path, monkeypatch):
    path = tmp_path / "tc.yaml"
    model = model_for(emu)
    emu.queue(Reply(tool_calls=[ToolCallSpec("f", {"x": 1}, id="call_kept")]))
    with use_cassette(path, record_mode="all"):
        model.invoke("call f")
    emu.stop()
    block_sockets(monkeypatch)
    with use_cassette(path, record_mode="none"):
        assert model.invoke("call f").tool_calls[0]["id"] == "call_kept"


def test_stale_stored_match_keys_fall_back_to_hashing_the_requests(emu, tmp_path):
    """Digests stored at record time are a shortcut only: if normalisation changed since, a miss
    re-hashes every recorded request before giving up."""
    path = tmp_path / "stale.yaml"
    record(emu, path, "a", "b")
    text = path.read_text()
    assert text.count("match_key: v2-") == 2
    path.write_text(text.replace("match_key: v2-", "match_key: v2-0000"))
    model = model_for(emu)
    with use_cassette(path, record_mode="none", strict=True) as cas:
        assert model.invoke("b").content.endswith("b")
        assert model.invoke("a").content.endswith("a")
    assert cas.replayed_count == 2
