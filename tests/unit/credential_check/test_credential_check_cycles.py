"""The credential-check service's cycles against the in-process sandbox: each cycle reads
the vault again (a replaced secret is the one checked next), a vault that cannot be read
skips the cycle and counts it, the service is ready after its first cycle and stops at once
when asked, between cycles."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from chassis.vault import CredentialNotFound, VaultUnavailable
from credential_check.config import CheckConfig, SendGridCheck
from credential_check.inject import CheckOptions, build
from credential_check.metrics import CYCLES, OK
from sandbox.app import create_app
from sandbox.twilio.config import DEMO_SENDGRID_KEY

pytestmark = pytest.mark.unit

CONFIG = CheckConfig(
    sendgrid=[SendGridCheck(credential="sendgrid/key", api_base="http://sandbox/sendgrid")]
)
LABELS = {"system": "sendgrid", "credential": "sendgrid/key"}


class _Vault:
    """What the vault holds now; `reads` counts the loads."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {"sendgrid/key": DEMO_SENDGRID_KEY}
        self.reads = 0
        self.unavailable = False

    def read(self) -> Callable[[str], SecretStr]:
        self.reads += 1
        if self.unavailable:
            raise VaultUnavailable("broker down")
        snapshot = dict(self.values)

        def lookup(name: str) -> SecretStr:
            if name not in snapshot:
                raise CredentialNotFound(name)
            return SecretStr(snapshot[name])

        return lookup


def test_each_cycle_reads_the_vault_again_and_a_vault_outage_skips_one() -> None:
    registry = CollectorRegistry()
    vault = _Vault()
    service = build(
        CONFIG,
        read_secrets=vault.read,
        options=CheckOptions(transport=httpx.ASGITransport(app=create_app()), registry=registry),
    )

    async def three_cycles() -> None:
        assert not service.ready()
        await service.cycle()
        assert service.ready()
        assert registry.get_sample_value(OK, LABELS) == 1
        vault.values["sendgrid/key"] = "SG.replaced-by-someone-else"
        await service.cycle()
        assert registry.get_sample_value(OK, LABELS) == 0
        vault.unavailable = True
        assert await service.cycle() == []

    asyncio.run(three_cycles())

    assert vault.reads == 3
    assert registry.get_sample_value(OK, LABELS) == 0  # the last result stands
    assert registry.get_sample_value(f"{CYCLES}_total", {"result": "ran"}) == 2
    assert registry.get_sample_value(f"{CYCLES}_total", {"result": "vault_unavailable"}) == 1


def test_the_service_runs_a_cycle_then_stops_when_asked_without_waiting_for_the_next() -> None:
    vault = _Vault()
    service = build(
        CONFIG,
        read_secrets=vault.read,
        options=CheckOptions(
            every_seconds=3600.0,
            transport=httpx.ASGITransport(app=create_app()),
            registry=CollectorRegistry(),
        ),
    )

    async def one_cycle_then_stop() -> None:
        running = asyncio.create_task(service.run())
        await asyncio.wait_for(service.cycle_ended.wait(), timeout=30)
        service.stop()
        await asyncio.wait_for(running, timeout=5)

    asyncio.run(one_cycle_then_stop())

    assert service.cycles_done == 1
    assert [r.ok for r in service.last_results] == [True]
