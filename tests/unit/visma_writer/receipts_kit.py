"""The receipt writer over the Visma sandbox in process (ASGI): real routes, no network."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from pydantic import SecretStr
from writer_harness import SERDE, AuditLog, MemoryLedger

from events.visma_writes import RecordPurchaseReceipt, VismaWriteConflict
from sandbox import SandboxConfig, create_app
from visma_client import TokenProvider, VismaClient, VismaCredentials
from visma_writer.documents import DocumentWriter
from visma_writer.receipts import PurchaseReceiptKind

COMPANY = "tenant-se-1"
ADMIN = "/visma/_sandbox"
START = datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC)


class MemoryReview:
    def __init__(self) -> None:
        self.sent: list[VismaWriteConflict] = []

    async def send(self, event: VismaWriteConflict) -> None:
        SERDE.encode(event.SCHEMA, event.to_record())  # the model fits its schema
        self.sent.append(event)


def receipt_command(order: str, *, command_id: str = "cmd-1") -> RecordPurchaseReceipt:
    return RecordPurchaseReceipt(
        command_id=command_id,
        tenant_id="t1",
        company_id=COMPANY,
        order_number=order,
        source_system="monday",
        source_ref="4001/9001",
        requested_by="warehouse",
        rule="monday-receipts",
        source_event_id="evt-1",
        entity_type="purchaseOrder",
        entity_id=f"t1/{COMPANY}/purchaseOrder/RegularOrder:{order}",
        created_at=START,
    )


class ReceiptHarness:
    """A DocumentWriter of receipts for company tenant-se-1 of a frozen-clock sandbox."""

    def __init__(self) -> None:
        config = SandboxConfig.model_validate({"clock_speed": 0, "clock_start": START,
                                               "visma": {"invoices_per_company": 3}})  # fmt: skip
        transport = httpx.ASGITransport(app=create_app(config))
        self.admin = httpx.AsyncClient(transport=transport, base_url="http://sandbox")
        api = httpx.AsyncClient(transport=transport, base_url="http://sandbox/visma")
        credentials = VismaCredentials(
            client_id="mlc-demo", client_secret=SecretStr("mlc-demo-secret"), tenant_id=COMPANY
        )
        tokens = TokenProvider(
            api, credentials=credentials, token_url="http://sandbox/visma/connect/token"
        )
        self.visma = VismaClient(api, tokens=tokens)
        self.ledger = MemoryLedger()
        self.audit = AuditLog()
        self.review = MemoryReview()
        self.writer = DocumentWriter(
            PurchaseReceiptKind(), companies={("t1", COMPANY): self.visma}, ledger=self.ledger,
            audit=self.audit.trail, review=self.review, max_conflicts=2,
        )  # fmt: skip

    async def order(self, *, status: str = "Open", quantities: tuple[float, ...] = (5, 2)) -> str:
        lines = [
            {"lineNbr": n, "inventoryNumber": f"ART-{n}", "orderQty": qty, "unitCost": 10.0}
            for n, qty in enumerate(quantities, start=1)
        ]
        body = {"company": COMPANY, "fields": {"status": status, "lines": lines}}
        response = await self.admin.post(f"{ADMIN}/entities/purchaseOrder", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["orderNbr"])

    async def receipts(self, order: str) -> dict[str, object]:
        response = await self.admin.get(f"{ADMIN}/purchase-orders/{COMPANY}/{order}/receipts")
        assert response.status_code == 200, response.text
        listed: dict[str, object] = response.json()
        return listed

    async def visma_token(self) -> dict[str, str]:
        form = {"grant_type": "client_credentials", "client_id": "mlc-demo",
                "client_secret": "mlc-demo-secret", "tenant_id": COMPANY}  # fmt: skip
        response = await self.admin.post("/visma/connect/token", data=form)
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def receive_by_hand(self, order: str, line: int, quantity: float) -> None:
        """Someone receives goods in Visma themselves: a receipt without our mark."""
        wrapped = {"poOrderNbr": order, "poLineNbr": line, "receiptQty": quantity}
        body = {"lines": [{"operation": "Insert"} | {k: {"value": v} for k, v in wrapped.items()}]}
        posted = await self.admin.post(
            "/visma/v1/PurchaseReceipt", headers=await self.visma_token(), json=body
        )
        assert posted.status_code == 201, posted.text

    async def fault(self, **rule: object) -> None:
        response = await self.admin.post(f"{ADMIN}/faults", json=rule)
        assert response.status_code == 201, response.text
