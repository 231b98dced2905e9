"""A message's status only moves forward, whatever order its callbacks came in."""

from __future__ import annotations

import itertools

import pytest

from events.twilio_status import STATUS_RANK, advances, is_final

pytestmark = pytest.mark.unit

LIFECYCLE = ["queued", "sending", "sent", "delivered", "read"]


def newest(statuses: list[str]) -> str | None:
    held: str | None = None
    for status in statuses:
        if advances(held, status):
            held = status
    return held


@pytest.mark.parametrize("order", list(itertools.permutations(LIFECYCLE)))
def test_any_order_of_a_read_messages_callbacks_ends_read(order: tuple[str, ...]) -> None:
    assert newest(list(order)) == "read"


@pytest.mark.parametrize("end", ["delivered", "undelivered", "failed", "canceled"])
def test_an_end_state_never_goes_back(end: str) -> None:
    for earlier in ("accepted", "scheduled", "queued", "sending", "sent"):
        assert advances(earlier, end)
        assert not advances(end, earlier)
    assert is_final(end)


def test_one_end_state_does_not_replace_another() -> None:
    ends = ["delivered", "undelivered", "failed", "canceled", "partially_delivered"]
    for held, new in itertools.permutations(ends, 2):
        assert not advances(held, new), (held, new)


def test_only_a_delivered_message_can_be_read() -> None:
    assert advances("delivered", "read")
    assert not advances("failed", "read")
    assert not advances("undelivered", "read")
    assert not advances("read", "delivered")


def test_a_repeat_is_not_an_advance() -> None:
    assert not any(advances(status, status) for status in STATUS_RANK)


def test_an_unknown_status_never_replaces_a_known_one() -> None:
    assert not advances(None, "receiving")
    assert not advances("queued", "some_future_status")
    assert advances("some_future_status", "sent"), "a known status replaces an unknown one"
    assert not is_final("some_future_status")
