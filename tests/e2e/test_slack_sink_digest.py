"""A channel that falls behind is caught up with digests; the others keep posting one by one.

One channel gets a backlog far past `--digest-backlog`, a few others a handful each. Every
command must reach Slack exactly once (alone or inside one digest), in order per channel,
with no 429; the backlog channel must show digests and the others none; and the ledger must
say, for every command, which Slack message (channel id, ts) it became and whether that was
a digest.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from chassis.kafka.state import read_to_end
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from events.deliveries import DeliveryStatus, SinkDelivery
from mlc.stack import SANDBOX_SECRETS, FlowStack, command_ids
from tests.e2e.conftest import settle, wait_for_posts
from tests.e2e.test_slack_sink import command, produce
from tests.e2e.test_slack_sink_credentials import start_sink

pytestmark = pytest.mark.e2e

APPROVER = "cfo@nordic-demo.example"  # a user the Slack sandbox seeds
BACKLOG = "ap-backlog"
STEADY = [f"ap-steady-{i}" for i in range(4)]


def _ids_of(message: dict[str, Any]) -> list[str]:
    return command_ids([message])


def _slack_user(stack: FlowStack, email: str) -> str:
    answer = httpx.get(
        f"{stack.base_url}/slack/api/users.lookupByEmail",
        params={"email": email},
        headers={"Authorization": f"Bearer {SANDBOX_SECRETS['SLACK_BOT_TOKEN']}"},
        timeout=10,
    ).json()
    return str(answer["user"]["id"])


def _ledger(kafka: str, topic: str) -> dict[str, SinkDelivery]:
    serde = AvroSerde(SchemaCatalog.load())
    raw = read_to_end(KafkaSettings(bootstrap_servers=kafka), topic, client="test-ledger")
    return {key: SinkDelivery.from_record(serde.decode(value)[1]) for key, value in raw.items()}


def test_a_backlog_is_caught_up_with_digests_each_command_once_in_order(
    make_stack: Callable[..., FlowStack], kafka_bootstrap: str
) -> None:
    stack = make_stack(invoices=0)
    stack.start_sandbox()
    for name in [BACKLOG, *STEADY]:
        httpx.post(
            f"{stack.base_url}/slack/_sandbox/channels", json={"name": name}, timeout=10
        ).raise_for_status()
    backlog = [command(BACKLOG, n) for n in range(120)]
    steady = [command(channel, n) for n in range(8) for channel in STEADY]
    # The first steady channel's approvers: one has a Slack user, one has none.
    steady = [
        c.model_copy(update={"mention_emails": [APPROVER, "gone@example.com"]})
        if c.channel == STEADY[0]
        else c
        for c in steady
    ]
    produce(kafka_bootstrap, stack.topics.commands, backlog + steady)
    start_sink(stack, "--digest-backlog", "20", "--digest-max", "30")

    everything = backlog + steady
    wait_for_posts(stack, {c.command_id for c in everything}, timeout=120)
    posted = settle(stack, 2.5)

    assert Counter(command_ids(posted)) == Counter(c.command_id for c in everything)
    assert sum(stack.get("/slack/_sandbox/stats")["rate_limited"].values()) == 0
    by_channel = {
        name: [m for m in posted if m["channel_name"] == name] for name in [BACKLOG, *STEADY]
    }
    digests = [m for m in by_channel[BACKLOG] if len(_ids_of(m)) > 1]
    assert digests, "the backlog was posted one by one"
    assert all(len(_ids_of(m)) <= 30 for m in digests)
    for name, messages in by_channel.items():
        in_order = [i for m in messages for i in _ids_of(m)]
        assert in_order == [c.command_id for c in everything if c.channel == name]
    for name in STEADY:
        assert all(len(_ids_of(m)) == 1 for m in by_channel[name])
    approver = _slack_user(stack, APPROVER)
    for name in STEADY:
        for m in by_channel[name]:
            mentions = re.findall(r"<@(\w+)>", m["text"])
            assert mentions == ([approver] if name == STEADY[0] else [])

    ledger = _ledger(kafka_bootstrap, stack.topics.ledger)
    for message in posted:
        ids = _ids_of(message)
        for command_id in ids:
            entry = ledger[command_id]
            assert entry.status is DeliveryStatus.DONE
            assert (entry.channel_id, entry.ts) == (message["channel"], message["ts"])
            assert entry.digest == (len(ids) > 1)
            assert entry.entity_id.startswith("tenant-se-1/")  # type: ignore[union-attr]
