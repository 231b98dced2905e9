"""The vault's credential log in memory, for route tests: the vault seals and unseals for
real, only Kafka is replaced."""

from __future__ import annotations

from collections.abc import Sequence


class MemoryCredentials:
    def __init__(self) -> None:
        self.records: dict[str, bytes] = {}
        self.reads = 0
        """How often the vault read the log (a test of rate-limited reads counts them)."""

    def read_all(self) -> dict[str, bytes]:
        self.reads += 1
        return dict(self.records)

    def append(self, records: Sequence[tuple[str, bytes]]) -> None:
        self.records.update(records)
