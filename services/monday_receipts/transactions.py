"""The reconciliation's writes: a run's events and its cursor in one Kafka transaction
(the chassis's `KafkaTransactions`)."""

from chassis.kafka.transactions import KafkaTransactions

__all__ = ["KafkaTransactions"]
