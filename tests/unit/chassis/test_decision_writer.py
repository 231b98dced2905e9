"""The chassis's DecisionWriter: a decision's commands and states go in one transaction, are
kept only once it committed, and decisions never interleave."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

import pytest
from tests.unit.chassis.transactions_fake import FakeTransactions

from chassis.errors import RetryableError
from chassis.kafka.decisions import (
    AlongsideFailedError,
    DecidingService,
    DecisionTopics,
    DecisionWriter,
)

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class Command:
    SCHEMA: ClassVar[str] = "test.Command"
    key: str

    def to_record(self) -> dict[str, Any]:
        return {"key": self.key}


@dataclass(frozen=True)
class State:
    key: str
    value: int


@dataclass
class Decision:
    commands: list[Command] = field(default_factory=list)
    changed: list[State] = field(default_factory=list)


class Serde:
    """Encodes as text: enough to see which record went where."""

    def encode(self, schema: str, record: dict[str, Any]) -> bytes:
        return f"{schema}:{record}".encode()


def writer(transactions: FakeTransactions, kept: list[Decision]) -> DecisionWriter[State, Decision]:
    serde: Any = Serde()
    return DecisionWriter(
        transactions=transactions,
        serde=serde,
        topics=DecisionTopics(commands="cmds", state="state"),
        encode_state=lambda _serde, s: str(s.value).encode(),
        keep=kept.append,
    )


def test_commands_and_states_go_in_one_transaction_and_are_kept_after_it() -> None:
    async def scenario() -> None:
        transactions, kept = FakeTransactions(), []
        decisions = writer(transactions, kept)
        decision = Decision([Command("k1")], [State("s1", 7)])
        assert await decisions.write(lambda: decision) is decision
        assert transactions.committed == [
            [("cmds", "k1", b"test.Command:{'key': 'k1'}"), ("state", "s1", b"7")]
        ]
        assert kept == [decision]

        await decisions.write(Decision)  # decided nothing: no transaction, nothing kept
        assert len(transactions.committed) == 1
        assert kept == [decision]

    asyncio.run(scenario())


def test_a_decision_whose_transaction_failed_is_not_kept() -> None:
    async def scenario() -> None:
        transactions, kept = FakeTransactions(), []
        decisions = writer(transactions, kept)
        transactions.refuse = True
        with pytest.raises(RetryableError):
            await decisions.write(lambda: Decision(changed=[State("s1", 1)]))
        assert (transactions.committed, kept) == ([], [])

    asyncio.run(scenario())


def test_the_next_decision_is_made_only_after_the_previous_one_was_kept() -> None:
    async def scenario() -> None:
        transactions, kept = FakeTransactions(), []
        decisions = writer(transactions, kept)
        seen: list[int] = []

        def decide(n: int) -> Decision:
            seen.append(len(kept))  # what was kept when this decision was made
            return Decision(changed=[State("s", n)])

        transactions.gate.clear()
        first = asyncio.create_task(decisions.write(lambda: decide(1)))
        second = asyncio.create_task(decisions.write(lambda: decide(2)))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert seen == [0]  # the second waits while the first's transaction is open
        transactions.gate.set()
        await asyncio.gather(first, second)
        assert seen == [0, 1]

    asyncio.run(scenario())


class Runner:
    """The consumer as DecidingService drives it: runs until stopped."""

    def __init__(self) -> None:
        self.stopped = asyncio.Event()
        self.assigned = True

    async def run(self) -> None:
        await self.stopped.wait()

    def stop(self) -> None:
        self.stopped.set()


class Closable:
    closed = False

    def close(self) -> None:
        self.closed = True


async def prepared() -> None:
    """Nothing to release at start."""


def service(*alongside: Callable[[], Awaitable[None]]) -> tuple[DecidingService, Runner]:
    runner = Runner()
    built = DecidingService(
        runner=cast(Any, runner), prepare=prepared, producer=cast(Any, Closable()),
        transactional=cast(Any, Closable()), alongside=alongside,
    )  # fmt: skip
    return built, runner


def test_work_alongside_runs_while_consuming_and_is_cancelled_at_stop() -> None:
    async def scenario() -> None:
        ran, cancelled = asyncio.Event(), asyncio.Event()

        async def watch() -> None:
            ran.set()
            try:
                await asyncio.Event().wait()
            finally:
                cancelled.set()

        built, _ = service(watch)
        running = asyncio.create_task(built.run())
        await asyncio.wait_for(ran.wait(), 30)
        built.stop()
        await asyncio.wait_for(running, 30)
        assert cancelled.is_set()
        assert cast(Closable, built.producer).closed

    asyncio.run(scenario())


def test_work_alongside_that_fails_stops_the_service_with_its_error() -> None:
    async def scenario() -> None:
        async def broken() -> None:
            raise OSError("the mapping file's volume went away")

        built, runner = service(broken)
        with pytest.raises(AlongsideFailedError, match="volume went away"):
            await asyncio.wait_for(built.run(), 30)
        assert runner.stopped.is_set()
        assert cast(Closable, built.transactional).closed

    asyncio.run(scenario())
