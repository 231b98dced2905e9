"""Kafka plumbing: producers, the offset tracker, the DLQ and the one consumer runner."""
