"""The record a handler receives: decoded value plus where it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: str | None
    raw: bytes
    headers: list[tuple[str, bytes]]
    schema: str = ""
    value: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0

    @property
    def position(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"
