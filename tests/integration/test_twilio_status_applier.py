"""The twilio-sink's status applier on the real broker, wired by its composition root.

Half of the messages are in the SMS ledger (DONE with their SID, on the partition of their
command) before their callbacks arrive, the other half only after the sink was stopped and
started again: their statuses must be kept across the restart and applied once their SID
shows up. Callbacks are repeated and shuffled; the ledger must end with each message's most
advanced status, and each SID's state must list every status once.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

import pytest

from chassis.settings import KafkaSettings
from events.twilio_status import TwilioMessageStatus
from tests.integration.twilio_status_rig import ACCOUNT, SERDE, StatusRig, sid

pytestmark = pytest.mark.integration

MESSAGES = 120
HISTORIES = {
    "delivered": ["sent", "delivered"],
    "read": ["sent", "delivered", "read"],
    "undelivered": ["sent", "undelivered"],
    "failed": ["failed"],
    "sent": ["queued", "sent"],
}


def callbacks(rig: StatusRig, rng: random.Random) -> None:
    """Every status of every message, a half more repeated, all shuffled."""
    posts = [(n, s) for n, outcome in rig.final.items() for s in HISTORIES[outcome]]
    posts += rng.choices(posts, k=len(posts) // 2)
    rng.shuffle(posts)
    for n, status in posts:
        event = TwilioMessageStatus(
            message_sid=sid(n), account_sid=ACCOUNT, status=status,
            error_code=30003 if status in ("failed", "undelivered") else None,
            received_at=datetime.now(UTC),
        )  # fmt: skip
        rig.producer.send(rig.options.status_topic.name, key=event.key,
                          value=SERDE.encode(event.SCHEMA, event.to_record()))  # fmt: skip
    rig.producer.flush()


def test_statuses_reach_the_ledger_in_any_order_and_wait_for_sids_across_a_restart(
    kafka_bootstrap: str, unique: str
) -> None:
    rng = random.Random(7)
    final = {n: rng.choice(list(HISTORIES)) for n in range(MESSAGES)}
    rig = StatusRig(KafkaSettings(bootstrap_servers=kafka_bootstrap), unique, final)
    early, late = list(range(0, MESSAGES, 2)), list(range(1, MESSAGES, 2))

    async def scenario() -> None:
        await rig.run_sink(
            lambda: (rig.done(early), callbacks(rig, rng)), lambda: rig.applied(early)
        )
        assert not set(late) & set(rig.ledger()), "the late SIDs are not in the ledger yet"
        # A new sink; the late SIDs show up: their statuses were kept through the restart.
        await rig.run_sink(lambda: rig.done(late), lambda: rig.applied(list(final)))

    try:
        asyncio.run(scenario())
    finally:
        rig.producer.close()

    ledger, states = rig.ledger(), rig.states()
    assert {n: entry["message_status"] for n, entry in ledger.items()} == final
    for n, outcome in final.items():
        assert states[sid(n)].status == outcome
        assert sorted(states[sid(n)].seen) == sorted(HISTORIES[outcome]), "each status once"
        if outcome in ("failed", "undelivered"):
            assert ledger[n]["error_code"] == 30003
