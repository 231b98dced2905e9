"""A consumer runner as its own process, for the SIGKILL test of published held keys.

`python held_keys_runner.py BOOTSTRAP TOPIC GROUP INSTANCE refused|fixed`: with `refused`
every record is held as if its credential were refused (and never replaced); with `fixed`
every record is handled at once. It prints `done <key>` for each record handled and runs
until it is killed or sent SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from chassis.credential_hold import CredentialHolds
from chassis.kafka.dlq import DeadLetters
from chassis.kafka.producer import EventProducer
from chassis.kafka.record import Record
from chassis.kafka.runner import ConsumerRunner, RunnerConfig
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings


async def main(bootstrap: str, topic: str, group: str, instance: str, mode: str) -> None:
    settings = KafkaSettings(bootstrap_servers=bootstrap)
    holds = CredentialHolds(refresh_seconds=3600)
    producer = EventProducer(settings, f"{group}-child")

    async def handler(record: Record) -> None:
        if mode == "refused":
            raise holds.hold("acme", replaced=None, reason="invalid_auth (test)")
        print(f"done {record.key}", flush=True)

    runner = ConsumerRunner(
        settings=settings,
        config=RunnerConfig(
            group_id=group, topics=(topic,), instance_id=instance, commit_interval=0.1,
            hold_visible_after=0.1, shutdown_timeout=5.0,
        ),
        handler=handler,
        serde=AvroSerde(SchemaCatalog.load()),
        dead_letters=DeadLetters(producer, group),
    )  # fmt: skip
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, runner.stop)
    try:
        await runner.run()
    finally:
        await holds.aclose()
        producer.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
