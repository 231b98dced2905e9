"""Shared conversion between the event models and the records fastavro reads and writes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict

AMOUNT_SCALE = Decimal("0.0001")


class AvroModel(BaseModel):
    """A frozen model with the full name of the Avro schema it mirrors."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    SCHEMA: ClassVar[str]

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = _to_avro(self.model_dump(mode="python"))
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Self:
        return cls.model_validate(record)


def _to_avro(value: Any) -> Any:
    if isinstance(value, Decimal):
        return value.quantize(AMOUNT_SCALE)
    if isinstance(value, dict):
        return {k: _to_avro(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_avro(v) for v in value]
    return value
