"""The airbase-sink's delivery ledger topic: which Airbase object each command wrote.

Entries are `events.deliveries.SinkDelivery` (sink `airbase-sink`): DONE with the airbase_id
written (`external_id`) and `resource/ERP reference` (`destination`). A tenant's commands
share one key, so partition p of this topic, holding the entries of `sink.airbase.v1`
partition p, also indexes the tenant's objects by ERP reference.
"""

from __future__ import annotations

from chassis.topics import TopicSpec

__all__ = ["STATE_AIRBASE_LEDGER"]

STATE_AIRBASE_LEDGER = TopicSpec("state.airbase-ledger.v1", partitions=6, compacted=True)
"""Compacted, key = command_id, value = SinkDelivery; partition p holds the entries of the
commands of `sink.airbase.v1` partition p."""
