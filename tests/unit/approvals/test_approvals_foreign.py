"""A gesture on a message the connector never posted is ignored at once and audited once; one
on a message whose ledger entry may still come keeps waiting (issue 9 item 7 follow-up)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from approvals_kit import CHANNEL_ID, MESSAGE_TS, SERDE, delivery, make_desk, reaction

from approvals.desk import MessageNotInLedgerYet, Outcome
from approvals.posted import PostedMessages
from approvals.provenance import may_still_arrive, posted_at
from chassis.errors import NotArrivedYet
from events.deliveries import DeliveryStatus

pytestmark = pytest.mark.unit

POSTED = datetime(2026, 1, 1, tzinfo=UTC)  # MESSAGE_TS
MARGIN = timedelta(minutes=5)
IGNORED = ("skipped", "ignored: not a connector message")


def test_the_post_time_is_read_from_the_slack_ts() -> None:
    assert posted_at(MESSAGE_TS) == POSTED + timedelta(microseconds=100)
    assert posted_at("not-a-ts") is None


@pytest.mark.parametrize(
    ("read_through", "pending_nearby", "may_arrive"),
    [
        (None, False, True),  # the ledger view has not caught up: anything may come
        (POSTED + timedelta(minutes=4), False, True),  # within the margin: DONE may be on its way
        (POSTED + MARGIN, False, True),  # the edge still waits
        (POSTED + timedelta(minutes=6), False, False),  # read past post + margin: not ours
        (POSTED + timedelta(days=30), False, False),
        (POSTED + timedelta(days=30), True, True),  # the sink was interrupted near the post
    ],
)
def test_the_decision_from_the_views_progress(
    read_through: datetime | None, pending_nearby: bool, may_arrive: bool
) -> None:
    assert (
        may_still_arrive(
            posted=POSTED, read_through=read_through, pending_nearby=pending_nearby, margin=MARGIN
        )
        is may_arrive
    )


def test_a_foreign_message_is_ignored_at_once_and_audited_once() -> None:
    d = make_desk(delivery(ts="1.1"), read_through=lambda: POSTED + timedelta(hours=1))
    gesture = reaction()  # a ✅ on a person's message posted an hour before what the view read

    assert asyncio.run(d.desk.handle(gesture)) is Outcome.NOT_OURS
    assert asyncio.run(d.desk.handle(gesture)) is Outcome.DUPLICATE  # Slack's retry

    assert d.audit.stages() == [IGNORED]
    assert d.audit.events[0]["entity_id"] == gesture.key
    assert d.outbox.signals == []
    assert d.outbox.actions == []


def test_a_waiting_gesture_is_ignored_once_the_view_reads_past_its_message() -> None:
    through = [POSTED + timedelta(minutes=2)]
    d = make_desk(delivery(ts="1.1"), read_through=lambda: through[0])
    gesture = reaction()
    for _attempt in range(3):
        with pytest.raises(MessageNotInLedgerYet) as raised:
            asyncio.run(d.desk.handle(gesture))
        assert isinstance(raised.value, NotArrivedYet)  # the runner audits no attempt
    through[0] = POSTED + timedelta(minutes=6)

    assert asyncio.run(d.desk.handle(gesture)) is Outcome.NOT_OURS
    assert [stage for stage, _ in d.audit.stages()] == ["retried", "skipped"]


def test_a_gesture_waits_while_the_sinks_post_near_it_is_unresolved() -> None:
    d = make_desk(delivery(ts="1.1"), read_through=lambda: POSTED + timedelta(hours=1))
    d.posted.pending.append((CHANNEL_ID, POSTED - timedelta(seconds=2)))  # the sink died
    gesture = reaction()
    with pytest.raises(MessageNotInLedgerYet):
        asyncio.run(d.desk.handle(gesture))

    d.posted.arrived(delivery())  # the restarted sink found its post and wrote DONE
    assert asyncio.run(d.desk.handle(gesture)) is Outcome.ACTIONED


def test_a_view_not_caught_up_keeps_the_gesture_waiting() -> None:
    d = make_desk(delivery(ts="1.1"), read_through=lambda: None)
    with pytest.raises(MessageNotInLedgerYet):
        asyncio.run(d.desk.handle(reaction()))


def test_the_index_knows_which_pending_posts_may_have_happened() -> None:
    posted = PostedMessages(SERDE)
    at = POSTED - timedelta(seconds=1)
    pending = delivery(status=DeliveryStatus.PENDING, ts=None, external_id=None, at=at)
    near = POSTED

    posted.add(pending)
    assert posted.pending_around(CHANNEL_ID, near, margin=MARGIN)
    assert not posted.pending_around("C0OTHER", near, margin=MARGIN)
    assert not posted.pending_around(CHANNEL_ID, near + timedelta(hours=1), margin=MARGIN)

    posted.add(delivery())  # DONE: resolved
    assert not posted.pending_around(CHANNEL_ID, near, margin=MARGIN)

    posted.add(pending.model_copy(update={"channel_id": None}))  # first post: id not known
    assert posted.pending_around("C0OTHER", near, margin=MARGIN)
    posted.add(pending.model_copy(update={"not_posted": True}))  # Slack refused: no post
    assert not posted.pending_around(CHANNEL_ID, near, margin=MARGIN)

    posted.add(pending)
    posted.remove(pending.command_id)  # expired (tombstone)
    assert not posted.pending_around(CHANNEL_ID, near, margin=MARGIN)
