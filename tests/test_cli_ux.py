"""What a new user meets on the command line and in the report: error lines, help, small wording."""

from __future__ import annotations

from harness.report import data as D
from harness.report.stats import summarize


def test_report_transcript_hides_raw_tool_use_blocks():
    # an Anthropic assistant turn keeps its tool_use blocks in `content`; they are shown as tool calls
    msg = {"role": "assistant",
           "content": [{"type": "text", "text": "Let me look."},
                       {"type": "tool_use", "id": "call_1", "name": "movie", "input": {"year": 2010}}],
           "tool_calls": [{"name": "movie", "args": {"year": 2010}, "id": "call_1"}]}
    shown = D._msg(msg)
    assert shown["c"] == "Let me look."
    assert shown["tc"] and "tool_use" not in shown["c"]
    # without parsed tool calls nothing is dropped
    assert "tool_use" in D._msg({"role": "assistant", "content": msg["content"]})["c"]


def test_errored_cell_without_usage_is_not_unpriced():
    errored = {"case_id": "a", "model_id": "m", "status": "error", "error": "MissingAPIKeyError: ...",
               "usage": None, "cost_usd": None}
    priced = {"case_id": "b", "model_id": "m", "status": "passed", "cost_usd": 0.001,
              "usage": {"input_tokens": 10, "output_tokens": 5}}
    unpriced = {"case_id": "c", "model_id": "m", "status": "passed", "cost_usd": None,
                "usage": {"input_tokens": 10, "output_tokens": 5}}
    assert summarize([errored, priced])["unpriced_cells"] == 0
    assert summarize([errored, priced, unpriced])["unpriced_cells"] == 1
