"""The wrapping of Visma's write DTOs, in one place for every write (receipts, suppliers,
supplier invoices, supplier payments): each scalar goes out as `{"value": ...}`
(`DtoValueOfString`, `...Decimal`, API_FACTS section 1)."""

from __future__ import annotations


def dto_value(value: object) -> dict[str, object]:
    """`value` as a write DTO field."""
    return {"value": value}
