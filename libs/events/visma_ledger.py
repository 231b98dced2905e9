"""General-ledger facts from Visma.net ERP: journal transactions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from events.visma import VismaEntityChanged, VismaPayload


class JournalTransactionLine(VismaPayload):
    line_number: int | None = None
    account_number: str | None = None
    subaccount: str | None = None
    debit_amount: Decimal | None = None
    credit_amount: Decimal | None = None
    description: str | None = None


class JournalTransaction(VismaPayload):
    module: str
    batch_number: str
    status: str | None = None
    transaction_date: date | None = None
    currency: str | None = None
    control_total: Decimal | None = None
    description: str | None = None
    lines: list[JournalTransactionLine] = []


class JournalTransactionChanged(VismaEntityChanged):
    SCHEMA = "io.mlconnector.visma.JournalTransactionChanged"

    entity_type: str = "journalTransaction"
    journal_transaction: JournalTransaction
