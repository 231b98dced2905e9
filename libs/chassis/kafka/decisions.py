"""Decisions written with the state they change: commands and state records in one Kafka
transaction, kept in memory only once that transaction committed.

Services that hold records until something outside changes (the BILL mapping's unmatched
vendors, the Airbase payments' unmapped accounts) decide from state they keep on a compacted
topic. A release must go out together with the state that no longer holds the record, or a
crash between the two would emit it twice or lose it. `DecisionWriter` is that one step: it
serialises decisions (one state, one transactional producer), writes a decision's commands
to the commands topic and its changed states to the state topic all or none, and hands the
decision back to be kept only after the commit. A decision whose transaction failed is
forgotten; the record it came from is redelivered and decided again from the same state.

`DecidingService` is such a service on the consumer runner: before its first record it
decides once from the configuration as it is now (`prepare`: release what a fixed mapping
file now allows), then consumes, with its `alongside` work (a watch on that file) running
until it stops; `decisions_producer` is the transactional producer its
writer publishes through, under a transactional id that is stable across restarts so a
restart fences a transaction its predecessor left open.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from chassis.errors import PermanentError
from chassis.kafka.producer import EventProducer, TransactionalProducer
from chassis.kafka.runner import ConsumerRunner
from chassis.kafka.transactions import Outgoing, Transactions
from chassis.serde import AvroSerde
from chassis.service import ConsumerService
from chassis.settings import KafkaSettings

__all__ = [
    "AlongsideFailedError",
    "Decided",
    "DecidingService",
    "DecisionTopics",
    "DecisionWriter",
    "EmittedCommand",
    "KeyedState",
    "decisions_producer",
]


log = logging.getLogger(__name__)


class EmittedCommand(Protocol):
    """A command as the writer needs it: its schema, its Kafka key and its Avro record."""

    SCHEMA: ClassVar[str]

    @property
    def key(self) -> str: ...

    def to_record(self) -> dict[str, Any]: ...


class KeyedState(Protocol):
    """One record of a compacted state topic: its key says whose state it is."""

    @property
    def key(self) -> str: ...


S = TypeVar("S", bound=KeyedState)
S_co = TypeVar("S_co", bound=KeyedState, covariant=True)


class Decided(Protocol[S_co]):
    """What a service decided: the commands to emit and the states that change."""

    @property
    def commands(self) -> Sequence[EmittedCommand]: ...

    @property
    def changed(self) -> Sequence[S_co]: ...


D = TypeVar("D", bound=Decided[Any])


@dataclass(frozen=True)
class DecisionTopics:
    commands: str
    state: str


class DecisionWriter(Generic[S, D]):
    """Runs one decision at a time and writes it with its state before it is kept."""

    def __init__(
        self,
        *,
        transactions: Transactions,
        serde: AvroSerde,
        topics: DecisionTopics,
        encode_state: Callable[[AvroSerde, S], bytes],
        keep: Callable[[D], None],
    ) -> None:
        self._transactions = transactions
        self._serde = serde
        self._topics = topics
        self._encode_state = encode_state
        self._keep = keep
        self._lock = asyncio.Lock()

    async def write(self, decide: Callable[[], D]) -> D:
        """Decides (under the lock, from the state as kept), writes the decision in one
        transaction when it emits or changes anything, then keeps it. Raises what the
        transaction raised, keeping nothing."""
        async with self._lock:
            decision = decide()
            if decision.commands or decision.changed:
                await self._transactions.publish(self.records(decision))
                self._keep(decision)
            return decision

    def records(self, decision: D) -> list[Outgoing]:
        """The decision's records: its commands, then its changed states."""
        records: list[Outgoing] = [
            (self._topics.commands, c.key, self._serde.encode(c.SCHEMA, c.to_record()))
            for c in decision.commands
        ]
        records += [
            (self._topics.state, s.key, self._encode_state(self._serde, s))
            for s in decision.changed
        ]
        return records


def decisions_producer(
    kafka: KafkaSettings, *, group_id: str, transactional_id: str | None
) -> TransactionalProducer:
    """The producer of a service's decisions; `transactional_id` defaults to
    `<group_id>-decisions`."""
    return TransactionalProducer(
        kafka,
        client=f"{group_id}-decisions",
        transactional_id=transactional_id or f"{group_id}-decisions",
    )


class AlongsideFailedError(PermanentError):
    """Work a `DecidingService` ran alongside its consumer ended with an error."""


@dataclass
class DecidingService(ConsumerService):
    """Decides once at start (`prepare`), then consumes until stopped; closes its producers
    however it ended."""

    runner: ConsumerRunner
    prepare: Callable[[], Awaitable[object]]
    producer: EventProducer
    """The audit trail's and dead letters' producer (`service_outputs`)."""
    transactional: TransactionalProducer
    alongside: Sequence[Callable[[], Awaitable[None]]] = ()
    """Work that runs while it consumes and is cancelled when consuming ends. If one ends
    with an error, the service stops and fails with it (`AlongsideFailedError`): a watch
    that died must not leave a service running that no longer does what it says."""

    async def run(self) -> None:
        try:
            await self.prepare()
            failures: list[BaseException] = []
            tasks = [asyncio.ensure_future(work()) for work in self.alongside]
            for task in tasks:
                task.add_done_callback(lambda done: self._ended(done, failures))
            try:
                await self.consume()
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            if failures:
                raise AlongsideFailedError(f"work alongside the consumer failed: {failures[0]!r}")
        finally:
            await self.aclose()

    def _ended(self, task: asyncio.Future[None], failures: list[BaseException]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        failure = task.exception()
        assert failure is not None
        failures.append(failure)
        log.error("work alongside the consumer failed, stopping", extra={"error": repr(failure)})
        self.runner.stop()

    async def aclose(self) -> None:
        self.producer.close()
        self.transactional.close()
