"""A service whose CompactedView dies mid-run, on the real broker: the view logs why, the
service turns unready, its runner is stopped, and the process exits non-zero (Kubernetes
restarts it) instead of consuming on with a view that no longer follows its topic."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
import pytest
from confluent_kafka.admin import AdminClient

from chassis.kafka.producer import EventProducer
from chassis.kafka.view import CompactedView
from chassis.service import EXIT_FAILED, ConsumerService, run_service
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, ensure_topics

pytestmark = pytest.mark.integration


@dataclass
class Runner:
    """Stands in for the consumer runner: the view, not the runner, is on trial here."""

    when_running: Any
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    assigned: bool = True
    service_ready: Any = None
    readiness_at_stop: list[bool] = field(default_factory=list)

    async def run(self) -> None:
        await self.when_running()
        await asyncio.wait_for(self.stopping.wait(), 60)

    def stop(self) -> None:
        self.readiness_at_stop.append(self.service_ready())
        self.stopping.set()


@dataclass
class ViewService(ConsumerService):
    runner: Any
    views: list[CompactedView[str]]


def test_a_view_dying_mid_run_fails_the_service_loudly(
    kafka_bootstrap: str, unique: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"test.view.service.{unique}"
    ensure_topics(AdminClient(settings.client_config("t")), [TopicSpec(topic, 1, compacted=True)])
    producer = EventProducer(settings, "t")
    producer.send(topic, key="k", value=b"v")
    producer.flush()

    def broken_index(key: str) -> None:
        raise RuntimeError(f"index lost {key}")

    view = CompactedView(
        settings, [topic], decode=bytes.decode, client=f"t-{unique}", on_removed=broken_index
    ).start()
    assert view.wait_until_caught_up(30)
    ready: list[int] = []

    async def when_running() -> None:
        port = next(r for r in caplog.records if r.getMessage() == "started").health_port  # type: ignore[attr-defined]
        answer = await asyncio.to_thread(httpx.get, f"http://127.0.0.1:{port}/readyz")
        ready.append(answer.status_code)
        producer.send(topic, key="k", value=None)  # the tombstone kills the view's reader
        await asyncio.to_thread(producer.flush)

    runner = Runner(when_running)
    service = ViewService(runner=cast(Any, runner), views=[view])
    runner.service_ready = service.ready
    try:
        with pytest.raises(SystemExit) as exited:
            run_service(lambda: service, health_port=0)
    finally:
        view.stop()

    assert exited.value.code == EXIT_FAILED
    assert ready == [200]  # ready while the view followed its topic
    assert runner.readiness_at_stop == [False]  # unready once it died; the runner stopped
    # Only this service's lines: a Kafka client another test left open may log here too.
    errors = [
        (r.name, r.getMessage())
        for r in caplog.records
        if r.levelno >= logging.ERROR and not r.name.startswith("librdkafka.")
    ]
    assert errors == [
        ("chassis.kafka.view", "compacted view failed"),
        ("chassis.service", "service failed"),
    ]
    failed = next(r for r in caplog.records if r.getMessage() == "service failed")
    assert "RuntimeError: index lost k" in failed.reason  # type: ignore[attr-defined]
