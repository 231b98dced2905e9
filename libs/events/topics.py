"""Every topic that carries a canonical event, command or piece of state.

Names: `<system>.<entity>.<version>` for facts, `sink.<target>.<version>` for commands,
`state.<name>.<version>` for compacted state.
"""

from chassis.audit import AUDIT_TOPIC
from chassis.topics import TopicSpec

VISMA_SUPPLIER_INVOICES = TopicSpec("visma.supplier-invoice.v1", partitions=6)
SINK_SLACK = TopicSpec("sink.slack.v1", partitions=6)
STATE_POLL_CURSORS = TopicSpec("state.poll-cursor.v1", partitions=3, compacted=True)
STATE_SLACK_LEDGER = TopicSpec("state.slack-ledger.v1", partitions=3, compacted=True)

ALL = (VISMA_SUPPLIER_INVOICES, SINK_SLACK, STATE_POLL_CURSORS, STATE_SLACK_LEDGER, AUDIT_TOPIC)
