"""The poller against a Visma list ordered by document number that changes while it pages.

The sandbox (in-process, its paging switch on) orders supplier invoices by number and,
after each page it serves, inserts new invoices or deletes ones already served: inserts on
page 1 of a newest-first list push read records onto the next page (read twice), deletions
behind the reader pull unread ones back past a page edge (never read, and older than the
next poll's start). The poller writes to the real broker; the test reads the events topic
back (read_committed) and compares with every version the sandbox ever served.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from confluent_kafka.admin import AdminClient
from pydantic import SecretStr

from chassis.audit import AuditTrail
from chassis.kafka.producer import TransactionalProducer
from chassis.kafka.state import iter_to_end
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, ensure_topics
from sandbox import SandboxConfig, create_app
from visma_client.auth import TokenProvider
from visma_client.client import VismaClient
from visma_client.config import VismaCredentials
from visma_client.entities import VISMA_ENTITIES
from visma_poller.cursor import Cursor
from visma_poller.poller import EntityPoller, PollResult, Topics

pytestmark = pytest.mark.integration

SERDE = AvroSerde(SchemaCatalog.load())
COMPANY = "tenant-se-1"
INVOICES = 300
PAGE_SIZE = 20
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _sandbox() -> Any:
    return create_app(SandboxConfig.model_validate({
        "clock_speed": 0, "clock_start": START,
        "visma": {"invoices_per_company": INVOICES, "max_page_size": 100},
    }))  # fmt: skip


def _versions(items: list[dict[str, Any]]) -> set[str]:
    def millis(text: str) -> int:
        return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)

    return {f"{i['entityId']}@{millis(i['lastModifiedDateTime'])}" for i in items}


async def _poll_until_settled(
    switch: dict[str, object], settings: KafkaSettings, unique: str
) -> tuple[Counter[str], set[str], list[PollResult], dict[str, Any]]:
    """Polls until a poll finds the window still, then once more; returns the published
    versions with their counts, every version the sandbox served, the polls, the churn."""
    events, cursors = f"test.visma.si.{unique}", f"test.visma.cursors.{unique}"
    audit, dlq = f"test.audit.{unique}", f"test.dlq.{unique}"
    ensure_topics(AdminClient(settings.client_config("t")),
                  [TopicSpec(events, 3), TopicSpec(cursors, 1, compacted=True),
                   TopicSpec(audit, 1), TopicSpec(dlq, 1)])  # fmt: skip
    producer = TransactionalProducer(settings, client="t", transactional_id=f"paging-{unique}")
    transport = httpx.ASGITransport(app=_sandbox())
    async with httpx.AsyncClient(transport=transport, base_url="http://sb/visma") as http:
        before = await http.get(f"/_sandbox/entities/supplierInvoice?company={COMPANY}")
        served = _versions(before.json())
        assert (await http.put("/_sandbox/paging", json=switch)).status_code == 200
        credentials = VismaCredentials(client_id="mlc-demo",
                                       client_secret=SecretStr("mlc-demo-secret"),
                                       tenant_id=COMPANY)  # fmt: skip
        tokens = TokenProvider(http, credentials=credentials, token_url="/connect/token")
        poller = EntityPoller(
            tenant_id="t", company_id=COMPANY, entity=VISMA_ENTITIES["supplierInvoice"],
            client=VismaClient(http, tokens=tokens, company_id=COMPANY),
            producer=producer, producer_lock=asyncio.Lock(), serde=SERDE,
            audit=AuditTrail(service="test", serde=SERDE, publish=lambda k, v: None),
            topics=Topics(cursors, audit, {"supplierInvoice": events}, dead_letters=dlq),
            cursor=Cursor(since=datetime(2000, 1, 1, tzinfo=UTC)),
            overlap=timedelta(minutes=2), page_size=PAGE_SIZE,
        )  # fmt: skip
        polls = []
        while len(polls) < 6 and (not polls or polls[-1].moved):
            polls.append(await poller.poll_once())
        polls.append(await poller.poll_once())
        churn = (await http.get("/_sandbox/paging")).json()
        after = await http.get(f"/_sandbox/entities/supplierInvoice?company={COMPANY}")
    producer.close()
    served |= _versions(after.json())
    published = Counter(
        SERDE.decode(value)[1]["event_id"].rsplit("/", 1)[1]
        for _, value in iter_to_end(settings, events, client=f"t-{unique}")
    )
    return published, served, polls, churn


def _report(name: str, published: Counter[str], served: set[str], polls: list[Any]) -> str:
    twice = sum(1 for n in published.values() if n > 1)
    return (
        f"\n{name}: {len(served)} versions served, {sum(published.values())} events, "
        f"{len(published)} distinct, {twice} published twice, {len(served - set(published))} "
        f"lost; polls {[('moved' if p.moved else 'still', p.events) for p in polls]}"
    )


def test_inserts_on_page_one_during_paging_publish_nothing_twice(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    switch = {"order": "number_desc", "inserts_per_page": 2, "churn_budget": 20}
    published, served, polls, churn = asyncio.run(_poll_until_settled(switch, settings, unique))
    print(_report("20 inserts during a first poll of 300", published, served, polls))
    assert len(churn["inserted"]) == 20
    assert len(served) == INVOICES + 20
    assert polls[0].moved, "the first poll saw the total change between pages"
    assert not polls[-1].moved
    assert set(published) == served, "every version published, none lost"
    assert max(published.values()) == 1, "no version published twice"


def test_deletes_behind_the_reader_during_paging_lose_nothing(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    switch = {"order": "number", "deletes_per_page": 1, "churn_budget": 10}
    published, served, polls, churn = asyncio.run(_poll_until_settled(switch, settings, unique))
    print(_report("10 deletes during a first poll of 300", published, served, polls))
    assert len(churn["deleted"]) == 10
    assert len(served) == INVOICES, "every deleted invoice had been served before"
    assert polls[0].moved
    assert set(published) == served, "every version published, none lost"
    assert max(published.values()) == 1, "no version published twice"


def test_inserts_and_deletes_together_publish_each_version_once(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    switch = {"order": "number_desc", "inserts_per_page": 2, "deletes_per_page": 1,
              "churn_budget": 30}  # fmt: skip
    published, served, polls, churn = asyncio.run(_poll_until_settled(switch, settings, unique))
    print(_report("inserts and deletes together", published, served, polls))
    assert len(churn["inserted"]) + len(churn["deleted"]) == 30
    assert set(published) == served, "every version published, none lost"
    assert max(published.values()) == 1, "no version published twice"
