"""The shared machinery with an update kind (the shape of the supplier and invoice writes to
come): If-Match on the ETag read, re-read on 412 and check again, conflicts to review."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import pytest
from receipts_kit import MemoryReview, receipt_command
from writer_harness import AuditLog, Harness, MemoryLedger

from chassis.kafka.record import Held, Record
from events.deliveries import DeliveryStatus
from events.visma_writes import FieldDifference, RecordPurchaseReceipt
from visma_client import VismaClient, VismaPreconditionFailed
from visma_writer.documents import Conflict, DocumentWriter, Target, Written
from visma_writer.handler import MalformedCommandError, WriterHandler, document_route

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass(frozen=True)
class RenameSupplier:
    """A command that updates: the name the source saw before, and the name it wants."""

    old_name: str
    new_name: str
    command_id: str = "cmd-1"
    tenant_id: str = "t1"
    company_id: str = "c1"
    entity_type: str = "supplier"
    entity_id: str = "t1/c1/supplier/10001"
    rule: str = "bill-vendors"
    source_event_id: str = "evt-1"


@dataclass
class Supplier:
    """One record in a fake Visma: fields and an ETag that moves on every change."""

    fields: dict[str, str]
    version: int = 1
    writes: int = 0
    before_write: list[Callable[[Supplier], None]] = field(default_factory=list)

    def change(self, **updates: str) -> None:
        self.fields.update(updates)
        self.version += 1


class RenameKind:
    name = "RenameSupplier"

    def __init__(self, supplier: Supplier) -> None:
        self.supplier = supplier

    async def find(self, _visma: VismaClient, _command: RenameSupplier) -> Written | None:
        return None  # an update makes no new document to look for

    async def read(self, _visma: VismaClient, _command: RenameSupplier) -> Target[dict[str, str]]:
        s = self.supplier
        return Target(dict(s.fields), str(s.version), "supplier 10001")

    def conflict(self, command: RenameSupplier, target: Target[dict[str, str]]) -> Conflict | None:
        found = target.state["name"]
        if found in (command.old_name, command.new_name):
            return None
        diff = FieldDifference(field="name", expected=command.old_name, found=found)
        return Conflict("renamed in Visma since the source saw it", [diff])

    async def write(
        self, _visma: VismaClient, command: RenameSupplier, target: Target[dict[str, str]]
    ) -> Written:
        for edit in self.supplier.before_write:  # someone saves the record first
            edit(self.supplier)
        self.supplier.before_write.clear()
        if target.etag != str(self.supplier.version):  # If-Match on the version read
            raise VismaPreconditionFailed("412")
        self.supplier.change(name=command.new_name)
        self.supplier.writes += 1
        return Written("10001", str(self.supplier.version))


def _writer(
    supplier: Supplier,
) -> tuple[DocumentWriter[RenameSupplier, dict[str, str]], MemoryLedger, AuditLog, MemoryReview]:
    ledger, audit, review = MemoryLedger(), AuditLog(), MemoryReview()
    writer = DocumentWriter(
        RenameKind(supplier), companies={("t1", "c1"): cast(VismaClient, object())},
        ledger=ledger, audit=audit.trail, review=review, max_conflicts=3,
    )  # fmt: skip
    return writer, ledger, audit, review


async def test_a_change_elsewhere_between_read_and_write_is_re_read_and_applied_once() -> None:
    supplier = Supplier({"name": "Acme", "city": "Oslo"})
    supplier.before_write.append(lambda s: s.change(city="Bergen"))  # not our field
    writer, ledger, audit, review = _writer(supplier)

    await writer.apply(RenameSupplier("Acme", "Acme AS"))

    assert supplier.fields == {"name": "Acme AS", "city": "Bergen"}
    assert supplier.writes == 1
    assert audit.stages() == ["retried", "sent"]
    assert [e.status for e in ledger.writes] == [
        DeliveryStatus.PENDING, DeliveryStatus.PENDING, DeliveryStatus.DONE,
    ]  # fmt: skip
    assert review.sent == []


async def test_a_conflicting_change_is_never_overwritten_and_goes_to_review_field_by_field() -> (
    None
):
    supplier = Supplier({"name": "Acme"})
    supplier.before_write.append(lambda s: s.change(name="Acme Holding"))
    writer, ledger, audit, review = _writer(supplier)

    assert await writer.apply(RenameSupplier("Acme", "Acme AS")) is None

    assert supplier.fields["name"] == "Acme Holding"
    assert supplier.writes == 0
    (conflict,) = review.sent
    assert [(d.field, d.expected, d.found) for d in conflict.differences] == [
        ("name", "Acme", "Acme Holding")
    ]
    assert conflict.etag == "2"
    assert audit.stages() == ["retried", "failed"]
    assert ledger.entries["cmd-1"].status is DeliveryStatus.DONE
    await writer.apply(RenameSupplier("Acme", "Acme AS"))  # redelivered: reviewed once
    assert len(review.sent) == 1


def _record(value: dict[str, object], schema: str) -> Record:
    return Record(topic="sink.visma-writer.v1", partition=0, offset=1, key="k", raw=b"",
                  headers=[], schema=schema, value=value)  # fmt: skip


def _receipt_handler() -> tuple[Harness, WriterHandler, list[RecordPurchaseReceipt]]:
    """The handler with one route, for receipts, that only notes what it was given."""
    applied: list[RecordPurchaseReceipt] = []

    async def apply(command: RecordPurchaseReceipt) -> None:
        applied.append(command)

    harness = Harness()
    handler = WriterHandler(
        {RecordPurchaseReceipt.SCHEMA: document_route(RecordPurchaseReceipt, apply)},
        credentials=harness.companies, audit=harness.audit.trail,
    )  # fmt: skip
    return harness, handler, applied


async def test_the_handler_dispatches_by_schema_and_refuses_a_kind_it_has_no_handler_for() -> None:
    harness, handler, applied = _receipt_handler()
    command = receipt_command("PO-1").model_copy(update={"company_id": "c1"})

    await handler(_record(command.to_record(), RecordPurchaseReceipt.SCHEMA))
    with pytest.raises(MalformedCommandError, match="no handler"):
        await handler(_record(command.to_record(), "io.mlconnector.sink.SendSms"))

    assert applied == [command]
    await harness.companies.aclose()


async def test_a_receipt_waits_with_its_company_while_visma_refuses_the_credentials() -> None:
    harness, handler, applied = _receipt_handler()
    company = ("t1", "c1")
    harness.companies.refused(
        company, generation=harness.companies.generation(company), error="invalid_client"
    )
    command = receipt_command("PO-1").model_copy(update={"company_id": "c1"})

    with pytest.raises(Held):
        await handler(_record(command.to_record(), RecordPurchaseReceipt.SCHEMA))

    assert applied == []
    assert harness.audit.stages() == ["held"]
    await harness.companies.aclose()
