"""A token monday refuses holds the tenant's commands (not failed, not dead-lettered) and
alerts once; a new token in the vault gives the tenant a new client and lets them go."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence

import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr
from tests.unit.monday_sink.monday_sink_kit import (
    BOARD,
    SERDE,
    TENANT,
    Audit,
    Mapping_,
    Monday,
    Producer,
    command,
    record,
)

from chassis.kafka.handling import handling
from chassis.kafka.record import Held
from chassis.tokens import HolderTokens
from chassis.vault import CredentialVault, KeyRing, MasterKey
from monday_client import MondayAuthError
from monday_sink.boards import MappedBoard, MappedBoards
from monday_sink.credentials import TenantClients
from monday_sink.daily_limit import DailyLimits
from monday_sink.delivery import MondayItems
from monday_sink.ledger import Ledger

pytestmark = pytest.mark.unit

CREDENTIAL = "monday/tenant-se-1"


class MemoryLog:
    """The vault's credential log in memory (the real vault seals and unseals)."""

    def __init__(self) -> None:
        self.records: dict[str, bytes] = {}
        self.reads = 0
        self.reread = threading.Event()
        """Set at the third read: the hold's watcher re-read the vault twice."""

    def read_all(self) -> dict[str, bytes]:
        self.reads += 1
        if self.reads >= 3:
            self.reread.set()
        return dict(self.records)

    def append(self, records: Sequence[tuple[str, bytes]]) -> None:
        self.records.update(records)


class Account(Monday):
    """monday as one token sees it: a refused token answers every call with 401."""

    def __init__(self, board: Monday, token: str, refused: set[str]) -> None:
        super().__init__()
        self.items, self.calls = board.items, board.calls  # one board, seen through a token
        self.token, self.refused = token, refused

    async def _call(self, name: str) -> None:
        if self.token in self.refused:
            self.calls.append(f"{name} refused")
            raise MondayAuthError("Not Authenticated", code="UNAUTHENTICATED")
        await super()._call(name)


def invalid_metric() -> float | None:
    return REGISTRY.get_sample_value("mlc_monday_credential_invalid", {"tenant": TENANT})


@pytest.mark.anyio
async def test_a_refused_token_holds_the_tenant_until_the_vault_has_a_new_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    log = MemoryLog()
    vault = CredentialVault(log, KeyRing(MasterKey.generate()))
    vault.put(CREDENTIAL, SecretStr("old-token"))
    monday, refused = Monday(), {"old-token"}
    clients = TenantClients(
        tokens=HolderTokens(tokens={}, vault_names={TENANT: CREDENTIAL}, vault=lambda: vault),
        client_for=lambda token: Account(monday, token.get_secret_value(), refused),
        tenants=[TENANT], refresh_seconds=0.01,
    )  # fmt: skip
    boards = MappedBoards(
        {(TENANT, BOARD): MappedBoard(TENANT, BOARD, clients[TENANT], Mapping_())}
    )
    clients.on_replaced(boards.use)
    items = MondayItems(
        boards=boards, ledger=Ledger(sink="s", topic="l", producer=Producer(), serde=SERDE),  # type: ignore[arg-type]
        audit=Audit(), limits=DailyLimits(probe_seconds=60), credentials=clients,  # type: ignore[arg-type]
    )  # fmt: skip
    first = record(command("INV-1", 1))
    with handling([first]), pytest.raises(Held) as held:
        await items(first)
    assert invalid_metric() == 1
    second = record(command("INV-2", 1))
    with handling([second]), pytest.raises(Held):  # held without a call
        await items(second)
    assert monday.calls == ["find_items refused"]
    alerts = [r for r in caplog.records if r.getMessage().startswith("ALERT: monday refused")]
    assert len(alerts) == 1
    assert "mlc secrets set monday/tenant-se-1" in str(alerts[0].__dict__.get("fix"))

    assert log.reads == 1  # at start
    assert await asyncio.to_thread(log.reread.wait, 5)  # re-read twice: the refused token
    assert invalid_metric() == 1
    vault.put(CREDENTIAL, SecretStr("new-token"))
    await asyncio.wait_for(held.value.released(), timeout=5)
    assert invalid_metric() == 0
    for rec in (first, second):
        with handling([rec]):
            await items(rec)
    assert len(monday.on_board(BOARD)) == 2
    await clients.aclose()
