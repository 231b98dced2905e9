"""`mlc replay monday-sink` after a delivered run, on the real broker with the sandbox's monday.

The monday-sink (its own composition root, in-process) makes one item for each of 6 Visma
records on a sandbox board; then 2 of its ledger entries are deleted (tombstones: what the
horizon or compaction does). A dry run plans 4 skips and 2 lookups and calls nothing; a
resend-missing replay finds the 2 items by the board's Visma ID column, records them done
and resets the group; the sink started again reads all 6 commands and writes nothing: the
sandbox's counts of created and updated items do not move after the first run. Nor after a
reset with Kafka's own `kafka-consumer-groups --reset-offsets --to-datetime` and another run.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from chassis.kafka.producer import EventProducer
from chassis.settings import KafkaSettings, ServiceSettings
from events.commands import CreateMondayItem
from mlc.replay_monday import MondayReplay
from mlc.replay_run import Mode
from monday_sink.inject import build
from monday_sink.main import options_from, parser
from sandbox import create_app
from sandbox.config import SandboxConfig
from sandbox.monday.config import DEMO_MONDAY_TOKEN
from sandbox.monday.state import MondayState
from tests.integration.sink_replay_rig import (
    SERDE,
    Entry,
    consumed_to_end,
    done_ids,
    ledger,
    replay,
    reset_with_kafka_tool,
    run_until,
    tombstone,
)

pytestmark = pytest.mark.integration

TENANT = "tenant-rp"
RECORDS = 6
DELETED = 2
TOKEN_ENV = "MLC_REPLAY_TEST_MONDAY_TOKEN"


class Board:
    """A sandbox board with a Visma ID and a Total column, and the sink's options for it."""

    def __init__(self, tmp_path: Path, unique: str) -> None:
        self.app = create_app(SandboxConfig())
        self.monday: MondayState = self.app.state.sandbox.monday
        columns = (
            ("text_visma_id", "Visma ID", "text", ()),
            ("numbers_total", "Total", "numbers", ()),
        )
        self.id = self.monday.add_board(unique, columns).id
        mapping = tmp_path / "mapping.yaml"
        mapping.write_text(yaml.safe_dump({
            "tenant": TENANT,
            "boards": [{"board": self.id, "match": "table",
                        "columns": {"visma_id": "text_visma_id", "total": "numbers_total"}}],
        }))  # fmt: skip
        self.args = parser().parse_args([
            "--mapping", str(mapping), "--tenant-token", f"{TENANT}={TOKEN_ENV}",
            "--api-base", "http://sandbox/monday",
            "--commands-topic", f"it.{unique}.sink.monday.v1",
            "--ledger-topic", f"it.{unique}.state.monday-ledger.v1",
            "--links-topic", f"it.{unique}.monday.items.v1",
            "--group-id", f"it-{unique}-monday-sink",
        ])  # fmt: skip

    def transport(self) -> httpx.ASGITransport:
        return httpx.ASGITransport(app=self.app)

    def writes(self) -> tuple[int, int]:
        """(items created, item updates) on the board, as the sandbox counted them."""
        return self.monday.items_created.get(self.id, 0), self.monday.item_updates.get(self.id, 0)

    def item_of(self) -> dict[str, str]:
        """Visma id -> the id of the board's item holding it."""
        board = self.monday.board(self.id)
        return {str(item.values.get("text_visma_id")): item.id for item in board.items.values()}


def command(board: str, n: int, unique: str, *, digest: bool = False) -> CreateMondayItem:
    visma_id = None if digest else f"c1/supplierInvoice/Invoice:{n:05d}"
    fields = {"total": str(100 + n), "reference_number": f"{n:05d}"}
    if visma_id is not None:
        fields["visma_id"] = visma_id
    return CreateMondayItem(
        command_id=f"{unique}-monday-{n}", tenant_id=TENANT, rule="replay-test",
        source_event_id=f"{unique}-event-{n}", entity_type="supplierInvoice",
        entity_id=f"{TENANT}/c1/supplierInvoice/Invoice:{n:05d}",
        created_at=datetime.now(UTC), board_id=board, item_name=f"Invoice {n}", body="",
        visma_id=visma_id, fields=fields,
    )  # fmt: skip


class Delivered:
    """The sink's first run over `commands`, done: every command DONE in its ledger."""

    def __init__(
        self, board: Board, kafka: KafkaSettings, commands: list[CreateMondayItem]
    ) -> None:
        self.board, self.kafka, self.commands = board, kafka, commands
        self.ids = [c.command_id for c in commands]
        self.ledger_topic = board.args.ledger_topic
        first = self.sink()  # creates the topics
        self.since = datetime.now(UTC) - timedelta(seconds=5)
        producer = EventProducer(kafka, "replay-test-commands")
        for c in commands:
            producer.send(board.args.commands_topic, key=c.key,
                          value=SERDE.encode(c.SCHEMA, c.to_record()))  # fmt: skip
        producer.flush()
        producer.close()
        asyncio.run(run_until(first, "the first run", self._all_done))

    def _all_done(self) -> bool:
        return done_ids(self.kafka, self.ledger_topic, self.ids) == set(self.ids)

    def sink(self) -> Any:
        options = options_from(self.board.args, ServiceSettings())
        options.transport = self.board.transport()
        return build(self.kafka, options)

    def delete_entries(self, ids: list[str]) -> dict[str, Entry]:
        entries = ledger(self.kafka, self.ledger_topic)
        deleted = {i: entries[i] for i in ids}
        tombstone(self.kafka, self.ledger_topic, deleted)
        return deleted

    def replay(self, mode: Mode, *, keys: tuple[str, ...] = ()) -> tuple[int, str]:
        def adapter(context: Any) -> MondayReplay:
            return MondayReplay(context, transport=self.board.transport())

        return replay(adapter, self.board.args, self.kafka, mode=mode, since=self.since, keys=keys)

    def consumed(self) -> bool:
        return consumed_to_end(self.kafka, self.board.args.group_id, self.board.args.commands_topic)

    def run_again(self) -> None:
        asyncio.run(run_until(self.sink(), "the run after", self.consumed))


def test_replay_after_a_delivered_run_writes_nothing_and_finds_the_deleted_entries(
    kafka_bootstrap: str, unique: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, DEMO_MONDAY_TOKEN)
    board = Board(tmp_path, unique)
    run = Delivered(board, KafkaSettings(bootstrap_servers=kafka_bootstrap),
                    [command(board.id, n, unique) for n in range(RECORDS)])  # fmt: skip
    assert board.writes() == (RECORDS, 0)
    items = board.item_of()
    deleted = run.delete_entries(run.ids[1 : 1 + DELETED])

    status, plan = run.replay(Mode.DRY_RUN)
    assert status == 0, plan
    assert f"{RECORDS} commands in the window of monday-sink" in plan
    assert f"{RECORDS - DELETED} skip, {DELETED} look up" in plan
    assert board.writes() == (RECORDS, 0)

    status, done = run.replay(Mode.RESEND_MISSING)
    assert status == 0, done
    assert f"{DELETED} of {DELETED} looked up found and recorded done" in done
    assert board.writes() == (RECORDS, 0)
    after = ledger(run.kafka, run.ledger_topic)
    for command_id in deleted:
        visma_id = run.commands[run.ids.index(command_id)].visma_id
        assert after[command_id].fields["status"] == "DONE"
        assert after[command_id].fields["item_id"] == items[str(visma_id)]

    assert not run.consumed()  # reset to the window's start
    run.run_again()
    assert board.writes() == (RECORDS, 0)
    assert len(board.item_of()) == RECORDS

    # The same after a reset with Kafka's own tool: the ledger skips every command.
    reset_with_kafka_tool(run.kafka, board.args.group_id, board.args.commands_topic, run.since)
    assert not run.consumed()
    run.run_again()
    assert board.writes() == (RECORDS, 0)


def test_a_forgotten_digest_stops_the_replay_and_force_repeats_exactly_it(
    kafka_bootstrap: str, unique: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A digest item has no Visma id to be found by: without its entry the replay stops
    before changing anything; forced, only it is made again (one new item), audited."""
    monkeypatch.setenv(TOKEN_ENV, DEMO_MONDAY_TOKEN)
    board = Board(tmp_path, unique)
    commands = [command(board.id, n, unique) for n in range(3)]
    commands.append(command(board.id, 3, unique, digest=True))
    run = Delivered(board, KafkaSettings(bootstrap_servers=kafka_bootstrap), commands)
    assert board.writes() == (4, 0)
    digest, found = run.ids[3], run.ids[0]
    run.delete_entries([digest, found])

    status, plan = run.replay(Mode.DRY_RUN)
    assert status == 0, plan
    assert "2 skip, 1 look up, 1 stop" in plan
    status, stopped = run.replay(Mode.RESEND_MISSING)
    assert status == 1, stopped
    assert f"stopped: {digest} has no ledger entry" in stopped
    assert "replay stopped before changing anything" in stopped
    assert run.consumed()  # not reset
    assert set(ledger(run.kafka, run.ledger_topic)) == set(run.ids) - {digest, found}

    status, forced = run.replay(Mode.FORCE, keys=(digest,))
    assert status == 0, forced
    assert f"forced: {digest} (audited, operator replay-test)" in forced
    assert "1 of 1 looked up found and recorded done" in forced
    run.run_again()
    assert board.writes() == (5, 0)  # the digest's item, once more; nothing else
