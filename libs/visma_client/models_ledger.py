"""Visma read DTOs for the general ledger: journal transactions (`/v2` only)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator

from visma_client.models import Amount, Code, VismaDate, VismaModel, VismaRecordDto

__all__ = ["JournalTransactionDto", "JournalTransactionLineDto"]


def _subaccount_text(value: Any) -> Any:
    # The live API nests the subaccount ({subaccountNumber, ...}); a plain string is accepted too.
    if isinstance(value, dict):
        for key in ("subaccountNumber", "subaccountCd", "id"):
            if value.get(key) is not None:
                return str(value[key])
        return None
    return value


Subaccount = Annotated[Code | None, BeforeValidator(_subaccount_text)]


class JournalTransactionLineDto(VismaModel):
    line_number: int | None = None
    account_number: Code | None = None
    subaccount: Subaccount = None
    debit_amount_in_currency: Amount | None = None
    credit_amount_in_currency: Amount | None = None
    transaction_description: str | None = None


class JournalTransactionDto(VismaRecordDto):
    """`GET /v2/journaltransaction` item."""

    module: str | None = None
    batch_number: Code | None = None
    status: str | None = None
    transaction_date: VismaDate | None = None
    currency_id: str | None = None
    control_total_in_currency: Amount | None = None
    description: str | None = None
    lines: list[JournalTransactionLineDto] = []
