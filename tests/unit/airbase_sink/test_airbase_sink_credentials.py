"""A token Airbase refuses holds its tenant's commands (not failed, not dead-lettered, an
ALERT once) until `mlc secrets set` puts a new one in the vault; then they go on, no restart."""

from __future__ import annotations

import asyncio
import logging

import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr
from tests.unit.airbase_sink.airbase_sink_kit import (
    ALERTS,
    INVALID,
    TENANT,
    Airbase,
    Sink,
    invoice,
    record,
    supplier,
)
from tests.unit.monday_sink.test_monday_sink_credentials import MemoryLog

from airbase_sink.ports import AirbaseAccount
from chassis.kafka.handling import handling
from chassis.kafka.record import Held
from chassis.tenant_clients import TenantClients
from chassis.tokens import HolderTokens
from chassis.vault import CredentialVault, KeyRing, MasterKey

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

CREDENTIAL = "airbase/tenant-se-1"


def invalid_metric() -> float | None:
    return REGISTRY.get_sample_value("mlc_airbase_credential_invalid", {"tenant": TENANT})


async def test_a_refused_token_holds_the_tenant_until_the_vault_has_a_new_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    log = MemoryLog()
    vault = CredentialVault(log, KeyRing(MasterKey.generate()))
    vault.put(CREDENTIAL, SecretStr("old-token"))
    account, refused = Airbase("old-token"), {"old-token"}
    account.refused = refused

    def client_for(tenant: str, token: SecretStr) -> AirbaseAccount:
        view = Airbase(token.get_secret_value(), refused=refused)  # the same account
        view.objects, view.creates, view.calls = account.objects, account.creates, account.calls
        return view

    sink = Sink(account, clients=TenantClients(
        system="Airbase", client_for=client_for, tenants=[TENANT], invalid=INVALID,
        alerts=ALERTS, refresh_seconds=0.01,
        tokens=HolderTokens(tokens={}, vault_names={TENANT: CREDENTIAL}, vault=lambda: vault),
    ))  # fmt: skip
    first, second = record(supplier("50001")), record(invoice("10042"))
    with handling([first]), pytest.raises(Held) as held:
        await sink.writes(first)
    with handling([second]), pytest.raises(Held):  # held at once, without a call
        await sink.writes(second)
    assert account.calls == ["find vendors"]
    assert invalid_metric() == 1
    alerts = [r for r in caplog.records if r.getMessage().startswith("ALERT: Airbase refused")]
    assert len(alerts) == 1
    assert "mlc secrets set airbase/tenant-se-1" in str(alerts[0].__dict__.get("fix"))
    assert "old-token" not in caplog.text

    assert await asyncio.to_thread(log.reread.wait, 5)  # still refused after re-reads
    vault.put(CREDENTIAL, SecretStr("new-token"))
    await asyncio.wait_for(held.value.released(), timeout=5)
    assert invalid_metric() == 0
    for rec in (first, second):
        with handling([rec]):
            await sink.writes(rec)
    assert account.creates == {("vendors", "50001"): 1, ("bills", "10042"): 1}
    assert sink.producer.sent[-1].destination == "bills/10042"
    await sink.clients.aclose()
