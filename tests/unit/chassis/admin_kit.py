"""An AdminClient stand-in for tests of topic creation."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any


class RecordingAdmin:
    """An AdminClient stand-in that records the topics it is asked to create."""

    def __init__(self) -> None:
        self.created: dict[str, Any] = {}

    def list_topics(self, timeout: float) -> SimpleNamespace:
        leader = {0: SimpleNamespace(leader=1)}
        return SimpleNamespace(topics={n: SimpleNamespace(partitions=leader) for n in self.created})

    def create_topics(self, topics: list[Any], request_timeout: float) -> dict[str, Any]:
        for topic in topics:
            self.created[topic.topic] = topic
        return {t.topic: SimpleNamespace(result=lambda: None) for t in topics}
