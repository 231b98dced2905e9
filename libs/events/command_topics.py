"""The topic each kind of command travels on (`sink.<target>.<version>`)."""

from __future__ import annotations

from chassis.topics import TopicSpec
from events.commands import (
    ApplyVismaAction,
    CreateMondayItem,
    MarkAirbaseEntrySynced,
    SendEmail,
    SendSms,
    SyncToAirbase,
)
from events.slack import PostSlackMessage
from events.topics import SINK_SLACK
from events.visma_writes import (
    RecordPurchaseReceipt,
    RecordSupplierPayment,
    UpsertSupplier,
    UpsertSupplierInvoice,
)

SINK_TWILIO_SMS = TopicSpec("sink.twilio-sms.v1", partitions=6)
SINK_TWILIO_EMAIL = TopicSpec("sink.twilio-email.v1", partitions=6)
SINK_MONDAY = TopicSpec("sink.monday.v1", partitions=6)
SINK_AIRBASE = TopicSpec("sink.airbase.v1", partitions=6)
SINK_VISMA_WRITER = TopicSpec("sink.visma-writer.v1", partitions=6)

COMMAND_TOPICS: dict[type, TopicSpec] = {
    PostSlackMessage: SINK_SLACK,
    SendSms: SINK_TWILIO_SMS,
    SendEmail: SINK_TWILIO_EMAIL,
    CreateMondayItem: SINK_MONDAY,
    SyncToAirbase: SINK_AIRBASE,
    ApplyVismaAction: SINK_VISMA_WRITER,
    RecordPurchaseReceipt: SINK_VISMA_WRITER,
    UpsertSupplier: SINK_VISMA_WRITER,
    UpsertSupplierInvoice: SINK_VISMA_WRITER,
    RecordSupplierPayment: SINK_VISMA_WRITER,
    MarkAirbaseEntrySynced: SINK_AIRBASE,
}
"""Where a processor sends each command class (several may share a sink's topic)."""
