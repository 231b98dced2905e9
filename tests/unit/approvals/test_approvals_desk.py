"""The approvals desk: gestures become signals, and authorised ones become one Visma action."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from approvals_kit import (
    APPROVER_SLACK,
    CHANNEL_ID,
    EMPLOYEE_SLACK,
    ENTITY,
    MESSAGE_TS,
    SERDE,
    STRANGER_SLACK,
    TENANT,
    delivery,
    make_desk,
    reaction,
    reply,
)

from approvals.desk import MessageNeverInLedger, MessageNotInLedgerYet, Outcome
from chassis.errors import PermanentError, RetryableError
from events.approvals import Decision, SignalSource

pytestmark = pytest.mark.unit


def test_an_approvers_reaction_becomes_one_signal_and_one_action_naming_the_thread() -> None:
    d = make_desk()

    assert asyncio.run(d.desk.handle(reaction("white_check_mark"))) is Outcome.ACTIONED

    [signal] = d.outbox.signals
    assert (signal.decision, signal.source, signal.authorised) == (
        Decision.APPROVE, SignalSource.REACTION, True,
    )  # fmt: skip
    assert (signal.entity_id, signal.posted_command_id, signal.user) == (
        ENTITY, "cmd-posted-1", APPROVER_SLACK,
    )  # fmt: skip
    [action] = d.outbox.actions
    assert (action.action, action.entity_id, action.company_id, action.tenant_id) == (
        "release", ENTITY, TENANT, TENANT,
    )  # fmt: skip
    assert action.source_event_id == signal.signal_id
    assert "anna.berg@example.se" in action.comment
    # The writer tells the outcome in the thread once Visma has it (the desk has no way to post).
    assert (action.reply_workspace, action.reply_channel, action.reply_thread_ts) == (
        "default", "ap-approvals", MESSAGE_TS,
    )  # fmt: skip
    assert (action.requested_by, action.decision) == (APPROVER_SLACK, "approve")
    assert d.outbox.flushes == 1
    # Every output is a valid record of its schema.
    for model in (signal, action):
        SERDE.encode(model.SCHEMA, model.to_record())


def test_the_audit_trail_shows_signal_then_authorisation_under_the_visma_key() -> None:
    d = make_desk()
    asyncio.run(d.desk.handle(reaction()))

    [read, routed] = d.audit.events
    assert [read["stage"], routed["stage"]] == ["read", "routed"]
    assert {read["entity_id"], routed["entity_id"]} == {ENTITY}
    assert read["event_id"] == routed["event_id"] == d.outbox.signals[0].signal_id
    assert read["external_id"] == MESSAGE_TS
    assert routed["command_id"] == d.outbox.actions[0].command_id
    assert "authorised" in routed["detail"]
    assert "release" in routed["detail"]


def test_slack_retries_and_a_re_added_reaction_do_nothing_more() -> None:
    d = make_desk()
    first = reaction()

    asyncio.run(d.desk.handle(first))
    retried = first.model_copy(update={"retry_num": 1})
    re_added = reaction(event_id="Ev-again")

    assert asyncio.run(d.desk.handle(retried)) is Outcome.DUPLICATE
    assert asyncio.run(d.desk.handle(re_added)) is Outcome.DUPLICATE
    assert len(d.outbox.actions) == len(d.outbox.signals) == 1


def test_after_a_restart_the_same_gesture_yields_the_same_ids() -> None:
    """The in-memory dedupe is gone after a restart; the derived ids make the repeat a no-op
    for the writer, which applies a command id once (and derives its reply's id from it)."""
    before, after = make_desk(), make_desk()
    asyncio.run(before.desk.handle(reaction()))
    asyncio.run(after.desk.handle(reaction(event_id="Ev-redelivered")))

    assert before.outbox.signals[0].signal_id == after.outbox.signals[0].signal_id
    assert before.outbox.actions[0].command_id == after.outbox.actions[0].command_id


def test_two_approvers_approving_one_message_make_the_same_visma_command() -> None:
    d = make_desk()
    asyncio.run(d.desk.handle(reaction(user=APPROVER_SLACK)))
    asyncio.run(d.desk.handle(reaction(user=EMPLOYEE_SLACK)))

    first, second = d.outbox.actions
    assert first.command_id == second.command_id
    assert d.outbox.signals[0].signal_id != d.outbox.signals[1].signal_id


def test_an_employee_approver_is_found_through_the_employee_email() -> None:
    d = make_desk()

    assert asyncio.run(d.desk.handle(reaction(user=EMPLOYEE_SLACK))) is Outcome.ACTIONED
    assert "E0002 (bo.lund@example.se)" in d.outbox.actions[0].comment


def test_someone_who_may_not_approve_is_logged_and_ignored() -> None:
    d = make_desk()

    assert asyncio.run(d.desk.handle(reaction(user=STRANGER_SLACK))) is Outcome.NOT_AN_APPROVER

    assert d.outbox.actions == []
    [signal] = d.outbox.signals
    assert (signal.authorised, signal.reason) == (False, "not an approver")
    assert d.audit.stages()[-1] == ("skipped", f"ignored: not an approver ({STRANGER_SLACK})")
    assert d.outbox.flushes == 1


def test_a_rejecting_reaction_and_a_reply_keyword_use_the_configured_actions() -> None:
    d = make_desk()
    assert asyncio.run(d.desk.handle(reaction("x"))) is Outcome.ACTIONED
    assert d.outbox.actions[-1].action == "note"
    assert "Rejected" in d.outbox.actions[-1].comment
    assert d.outbox.actions[-1].decision == "reject", "the writer's reply says Rejected by"

    d = make_desk()
    assert asyncio.run(d.desk.handle(reply("<@U0BOT> Approved! looks right"))) is Outcome.ACTIONED
    assert d.outbox.signals[-1].source is SignalSource.REPLY
    assert d.outbox.actions[-1].action == "release"


def test_a_reply_that_does_not_start_with_a_keyword_is_not_a_decision() -> None:
    d = make_desk()
    assert asyncio.run(d.desk.handle(reply("do not approve yet"))) is Outcome.NOT_A_DECISION
    assert d.outbox.signals == []


def test_a_toned_reaction_counts_and_an_unrelated_one_costs_no_lookup() -> None:
    d = make_desk(raw_config={"gestures": {"approve_reactions": ["+1"]},
                              "tenants": [{"tenant_id": TENANT,
                                           "approvers": ["anna.berg@example.se"]}]})  # fmt: skip
    assert asyncio.run(d.desk.handle(reaction("+1::skin-tone-3"))) is Outcome.ACTIONED

    lookups = d.posted.lookups
    assert asyncio.run(d.desk.handle(reaction("eyes"))) is Outcome.NOT_A_DECISION
    assert d.posted.lookups == lookups


def test_a_gesture_before_its_ledger_entry_is_retried_audited_once_then_actioned() -> None:
    d = make_desk(delivery(ts="1.1"))  # the view has another message only
    early = reaction()
    for _attempt in range(3):
        with pytest.raises(MessageNotInLedgerYet, match=f"{CHANNEL_ID}/{MESSAGE_TS}") as raised:
            asyncio.run(d.desk.handle(early))
        assert isinstance(raised.value, RetryableError)
    assert d.audit.stages() == [
        (
            "retried",
            f"waiting for the Slack sink's ledger entry of message {CHANNEL_ID}/{MESSAGE_TS}; "
            "retried for up to 3600s from the gesture",
        )
    ]
    assert d.audit.events[0]["entity_id"] == early.key
    assert d.outbox.signals == []

    d.posted.arrived(delivery())
    assert asyncio.run(d.desk.handle(early)) is Outcome.ACTIONED
    assert [a.action for a in d.outbox.actions] == ["release"]


def test_a_gesture_whose_entry_never_comes_is_dead_lettered_once_the_budget_is_spent() -> None:
    now = [datetime(2026, 1, 1, 0, 2, tzinfo=UTC)]
    d = make_desk(delivery(ts="1.1"), now=lambda: now[0], ledger_budget_seconds=3600)
    gesture = reaction()  # received at 00:01:01
    with pytest.raises(MessageNotInLedgerYet):
        asyncio.run(d.desk.handle(gesture))
    now[0] = datetime(2026, 1, 1, 1, 1, 0, tzinfo=UTC)  # 3599 s after it arrived
    with pytest.raises(MessageNotInLedgerYet):
        asyncio.run(d.desk.handle(gesture))
    now[0] = datetime(2026, 1, 1, 1, 1, 1, tzinfo=UTC)  # the budget is spent
    with pytest.raises(MessageNeverInLedger, match="within 3600s of the gesture") as raised:
        asyncio.run(d.desk.handle(gesture))
    assert isinstance(raised.value, PermanentError)
    assert "not a message the connector posted" in str(raised.value)
    assert d.outbox.signals == []


def test_digests_and_own_replies_are_ignored() -> None:
    d = make_desk(
        delivery(command_id="digest", ts="1.1", digest=True, entity_id=None, entity_type=None),
        delivery(command_id="confirmation", ts="2.2", rule="approvals"),
    )
    assert asyncio.run(d.desk.handle(reaction(message_ts="1.1", event_id="e2"))) is Outcome.DIGEST
    assert (
        asyncio.run(d.desk.handle(reaction(message_ts="2.2", event_id="e3"))) is Outcome.OWN_REPLY
    )
    assert d.outbox.signals == []
    assert d.outbox.actions == []
    assert d.audit.stages() == [("skipped", "ignored: a digest or a message about no one record")]


def test_a_tenant_without_approvals_config_is_ignored() -> None:
    d = make_desk(delivery(tenant_id="tenant-no-1", entity_id="tenant-no-1/tenant-no-1/x/1"))
    assert asyncio.run(d.desk.handle(reaction())) is Outcome.NO_POLICY
    assert d.outbox.actions == []


def test_a_decision_without_a_configured_action_is_signalled_but_not_acted_on() -> None:
    d = make_desk(delivery(entity_type="purchaseOrder"))
    assert asyncio.run(d.desk.handle(reaction())) is Outcome.NO_ACTION
    assert len(d.outbox.signals) == 1
    assert d.outbox.actions == []


def test_a_failed_flush_is_raised_and_the_retry_sends_again() -> None:
    d = make_desk()
    d.outbox.fail_next_flush = True
    with pytest.raises(RuntimeError):
        asyncio.run(d.desk.handle(reaction()))

    assert asyncio.run(d.desk.handle(reaction())) is Outcome.ACTIONED
    assert d.outbox.actions[0].command_id == d.outbox.actions[-1].command_id


def test_the_company_comes_from_the_entity_key_when_the_ledger_entry_lacks_it() -> None:
    d = make_desk(delivery(company_id=None, entity_id="tenant-se-1/co-9/supplierInvoice/I:1"))
    asyncio.run(d.desk.handle(reaction()))
    assert d.outbox.actions[0].company_id == "co-9"
