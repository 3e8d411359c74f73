"""Tests of the app as it is: plain pytest, the app's own functions, harness's assertion helpers."""

from app import Ticket, answer, stream_answer, triage, where_is_my_order

from harness.pytest_plugin import assert_contains


def test_answer():
    assert_contains(answer("How long does a refund take?"), "5 business days")


def test_streamed_answer_is_the_whole_answer():
    pieces = list(stream_answer("How long does a refund take?"))
    assert len(pieces) > 1
    assert "".join(pieces) == "Refunds reach your card within 5 business days."


def test_triage_returns_a_ticket():
    assert triage("I was charged twice, please help now!") == Ticket(category="billing", urgent=True)


def test_where_is_my_order_uses_the_order_status_tool():
    assert_contains(where_is_my_order("Where is my order A-1042?"), "left the warehouse")
