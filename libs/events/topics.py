"""Every topic that carries a canonical event, command or piece of state.

Names: `<system>.<entity>.<version>` for facts, `sink.<target>.<version>` for commands,
`state.<name>.<version>` for compacted state. Each Visma entity has its own topic
(`visma.<kebab-entity>.v1`); reference entities are compacted, keyed by the entity key, so a
processor can rebuild the latest version of each as a table.
"""

import re

from chassis.audit import AUDIT_TOPIC
from chassis.kafka.held_keys import HOLDS_TOPIC
from chassis.topics import DLQ_REDRIVEN, TopicSpec
from chassis.vault import CREDENTIALS_TOPIC
from events.airbase import AIRBASE_PAYMENTS, AIRBASE_WEBHOOKS
from events.airbase_deliveries import STATE_AIRBASE_LEDGER
from events.airbase_payment_holds import STATE_AIRBASE_PAYMENTS
from events.airbase_polls import STATE_AIRBASE_POLLER
from events.approvals import APPROVAL_SIGNALS
from events.bill import BILL_BILLS, BILL_VENDORS
from events.bill_holds import BILL_VENDOR_LINKS, STATE_BILL_VENDORS
from events.monday import MONDAY_COLUMN_CHANGES, MONDAY_ITEMS
from events.monday_deliveries import STATE_MONDAY_LEDGER
from events.notifications import VISMA_NOTIFICATIONS
from events.slack_events import SLACK_EVENTS
from events.twilio_deliveries import STATE_TWILIO_EMAIL_LEDGER, STATE_TWILIO_SMS_LEDGER
from events.twilio_status import STATE_TWILIO_MESSAGE_STATUS, TWILIO_MESSAGE_STATUSES
from events.visma_entities import REFERENCE_ENTITIES, VISMA_EVENTS
from events.visma_writes import REVIEW_VISMA_WRITER

VISMA_PARTITIONS = 6

VISMA_SUPPLIER_INVOICES = TopicSpec("visma.supplier-invoice.v1", partitions=VISMA_PARTITIONS)
SINK_SLACK = TopicSpec("sink.slack.v1", partitions=6)
STATE_POLL_CURSORS = TopicSpec("state.poll-cursor.v1", partitions=3, compacted=True)
STATE_SLACK_LEDGER = TopicSpec("state.slack-ledger.v2", partitions=6, compacted=True)
"""Compacted, key = command_id, value = SinkDelivery; partition p holds the entries of the
commands of `sink.slack.v1` partition p (v1 had 3 partitions, hashed by command id)."""
STATE_VISMA_WRITER_LEDGER = TopicSpec("state.visma-writer-ledger.v2", partitions=6, compacted=True)
"""Compacted, key = command_id, value = SinkDelivery (external_id: the invoice's ETag for an
action; the document's number, e.g. a purchase receipt's, once a document write is DONE)."""


def _kebab(entity_type: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", entity_type).lower()


VISMA_TOPICS: dict[str, TopicSpec] = {
    entity_type: TopicSpec(
        f"visma.{_kebab(entity_type)}.v1",
        partitions=VISMA_PARTITIONS,
        compacted=entity_type in REFERENCE_ENTITIES,
    )
    for entity_type in VISMA_EVENTS
}


def visma_topic(entity_type: str) -> TopicSpec:
    """The topic that carries the events of one canonical Visma entity type."""
    try:
        return VISMA_TOPICS[entity_type]
    except KeyError:
        raise ValueError(f"unknown Visma entity type {entity_type!r}") from None


ALL = (
    *VISMA_TOPICS.values(),
    VISMA_NOTIFICATIONS,
    SINK_SLACK,
    STATE_POLL_CURSORS,
    STATE_SLACK_LEDGER,
    STATE_VISMA_WRITER_LEDGER,
    AUDIT_TOPIC,
    HOLDS_TOPIC,
    DLQ_REDRIVEN,
    CREDENTIALS_TOPIC,
    SLACK_EVENTS,
    APPROVAL_SIGNALS,
    TWILIO_MESSAGE_STATUSES,
    STATE_TWILIO_MESSAGE_STATUS,
    STATE_TWILIO_SMS_LEDGER,
    STATE_TWILIO_EMAIL_LEDGER,
    MONDAY_COLUMN_CHANGES,
    MONDAY_ITEMS,
    STATE_MONDAY_LEDGER,
    STATE_AIRBASE_LEDGER,
    REVIEW_VISMA_WRITER,
    BILL_VENDORS,
    BILL_BILLS,
    BILL_VENDOR_LINKS,
    STATE_BILL_VENDORS,
    AIRBASE_PAYMENTS,
    AIRBASE_WEBHOOKS,
    STATE_AIRBASE_POLLER,
    STATE_AIRBASE_PAYMENTS,
)
