"""A Visma record the poller cannot publish goes to its DLQ, and the poll goes on.

The real `VismaClient` reads a list over `httpx.MockTransport`; a fake transactional
producer keeps what each committed transaction wrote. One record does not parse, one
parses but its amount does not fit the event: both are dead-lettered as Visma sent them
with the reason, the good records around them are published, the cursor moves past them,
and the next poll's overlap does not dead-letter them again.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr

from chassis.audit import AuditTrail
from chassis.kafka.dlq import REASON
from chassis.serde import AvroSerde, SchemaCatalog
from visma_client.auth import TokenProvider
from visma_client.client import VismaClient
from visma_client.config import VismaCredentials
from visma_client.entities import VISMA_ENTITIES
from visma_poller.cursor import Cursor
from visma_poller.poller import EntityPoller, PollResult, Topics
from visma_poller.rejects import DLQ_TOPIC

pytestmark = pytest.mark.unit

SERDE = AvroSerde(SchemaCatalog.load())
TOKEN_URL = "https://connect.test/connect/token"
API = "https://api.test"
MODIFIED = "2026-03-01T11:58:00.000"  # inside the overlap of the next poll
SERVER_DATE = "Sun, 01 Mar 2026 12:00:00 GMT"


def _invoice(number: str, **fields: Any) -> dict[str, Any]:
    return {
        "documentType": "Invoice", "referenceNumber": number, "currencyId": "SEK",
        "amount": 100.25, "supplier": {"number": "1", "name": "Nord AB"},
        "lastModifiedDateTime": MODIFIED, "createdDateTime": MODIFIED, **fields,
    }  # fmt: skip


UNPARSEABLE = {k: v for k, v in _invoice("0002").items() if k != "referenceNumber"}
TOO_LARGE = _invoice("0004", amount=1e30)
LIST = [_invoice("0001"), UNPARSEABLE, _invoice("0003"), TOO_LARGE, _invoice("0005")]


def _visma(items: list[dict[str, Any]]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 3600})
        size = int(request.url.params["pageSize"])
        number = int(request.url.params["pageNumber"])
        chunk = items[(number - 1) * size : number * size]
        meta = {"totalCount": len(items), "maxPageSize": 100}
        body = [{**item, "metadata": meta} for item in chunk]
        return httpx.Response(200, json=body, headers={"Date": SERVER_DATE})

    return httpx.MockTransport(answer)


@dataclass
class FakeProducer:
    committed: list[tuple[str, str, bytes, list[Any]]] = field(default_factory=list)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        pending: list[tuple[str, str, bytes, list[Any]]] = []

        class Tx:
            def produce(
                self, topic: str, *, key: str, value: bytes, headers: Any = None, **_: Any
            ) -> None:
                pending.append((topic, key, value, list(headers or [])))

        yield Tx()
        self.committed.extend(pending)

    def on(self, topic: str) -> list[tuple[str, str, bytes, list[Any]]]:
        return [r for r in self.committed if r[0] == topic]


def _rejected_count() -> float:
    labels = {"company": "c", "entity": "supplierInvoice"}
    return REGISTRY.get_sample_value("mlc_visma_records_rejected_total", labels) or 0.0


def _poller(producer: FakeProducer, http: httpx.AsyncClient) -> EntityPoller:
    credentials = VismaCredentials(client_id="id", client_secret=SecretStr("s"), tenant_id="t")
    client = VismaClient(http, tokens=TokenProvider(http, credentials=credentials,
                                                    token_url=TOKEN_URL))  # fmt: skip
    return EntityPoller(
        tenant_id="t", company_id="c", entity=VISMA_ENTITIES["supplierInvoice"], client=client,
        producer=producer, producer_lock=asyncio.Lock(), serde=SERDE,  # type: ignore[arg-type]
        audit=AuditTrail(service="test", serde=SERDE, publish=lambda k, v: None),
        topics=Topics("cursors", "audit", {"supplierInvoice": "events"}, dead_letters="dlq"),
        cursor=Cursor(since=datetime(2000, 1, 1, tzinfo=UTC)), overlap=timedelta(minutes=5),
        page_size=2,
    )  # fmt: skip


async def _two_polls(
    producer: FakeProducer, items: list[dict[str, Any]] = LIST
) -> tuple[EntityPoller, list[PollResult]]:
    async with httpx.AsyncClient(base_url=API, transport=_visma(items)) as http:
        poller = _poller(producer, http)
        results = [await poller.poll_once()]
        first = len(producer.committed)
        results.append(await poller.poll_once())  # reads them again: inside the overlap
        assert {r[0] for r in producer.committed[first:]} == {"cursors"}
        return poller, results


def test_an_unusable_record_is_dead_lettered_raw_with_its_reason_and_the_poll_goes_on() -> None:
    producer = FakeProducer()
    before = _rejected_count()
    poller, _ = asyncio.run(_two_polls(producer))
    events = [SERDE.decode(v)[1]["entity_id"] for _, _, v, _ in producer.on("events")]
    assert events == ["Invoice:0001", "Invoice:0003", "Invoice:0005"]
    dead = producer.on("dlq")
    assert len(dead) == 2, "each rejected record once, although the second poll read it again"
    assert _rejected_count() - before == 2
    raw = [json.loads(value) for _, _, value, _ in dead]
    meta = {"totalCount": 5, "maxPageSize": 100}
    assert raw[0] == {**UNPARSEABLE, "metadata": meta}, "kept as Visma sent it"
    assert raw[1]["referenceNumber"] == "0004"
    assert json.loads(dead[1][2].decode(), parse_float=Decimal)["amount"] == Decimal("1e30")
    reasons = [dict(headers)[REASON].decode() for _, _, _, headers in dead]
    assert "referenceNumber" in reasons[0]
    assert "0004" in reasons[1]
    assert all(key.startswith("t/c/supplierInvoice/rejected:") for _, key, _, _ in dead)
    # The cursor moved past the rejected records to the server's time less the overlap.
    assert poller.cursor.since == datetime(2026, 3, 1, 11, 55, tzinfo=UTC)


def test_two_identical_records_without_an_id_do_not_hold_the_cursor() -> None:
    # Told apart by nothing, each is still one record of the list: the poll is not "moved".
    producer = FakeProducer()
    poller, results = asyncio.run(_two_polls(producer, [UNPARSEABLE, UNPARSEABLE, _invoice("7")]))
    assert not any(r.moved for r in results)
    assert len(producer.on("dlq")) == 1, "the same content is one version"
    assert poller.cursor.since == datetime(2026, 3, 1, 11, 55, tzinfo=UTC)


def test_the_poller_dlq_is_its_own_topic() -> None:
    assert DLQ_TOPIC.name == "dlq.visma-poller.v1"
