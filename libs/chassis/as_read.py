"""A record read from an external API that keeps the JSON it was read from.

A client's models type what the connector uses and ignore or loosely keep the rest, but a
canonical event (and its version digest) is made of what the system sent, field for field:
a poll and a webhook of one version must make the same event whatever the model drops.
`KeptAsRead` gives a pydantic model that copy, without making it a validated field.
"""

from __future__ import annotations

import copy
from typing import Any, Self

from pydantic import BaseModel, PrivateAttr

__all__ = ["KeptAsRead"]


class KeptAsRead(BaseModel):
    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

    @classmethod
    def read(cls, raw: dict[str, Any]) -> Self:
        """The record validated from `raw`, keeping a copy of `raw` as it was."""
        record = cls.model_validate(raw)
        record._raw = copy.deepcopy(raw)
        return record

    @property
    def raw(self) -> dict[str, Any]:
        """A copy of the JSON object the record was read from."""
        return copy.deepcopy(self._raw)
