"""Signing keys read from the vault as requests need them: a request that arrives while the
first read is under way waits for it instead of finding an empty vault."""

from __future__ import annotations

import asyncio
import threading

import pytest
from memory_vault import MemoryCredentials
from pydantic import SecretStr

from chassis.vault import CredentialVault, KeyRing, MasterKey
from ingress.vault_credentials import VaultCredentials

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


class SlowCredentials(MemoryCredentials):
    """Reading the log waits until the test lets it go (a Kafka read under way)."""

    def __init__(self) -> None:
        super().__init__()
        self.reading = threading.Event()
        self.go_on = threading.Event()

    def read_all(self) -> dict[str, bytes]:
        self.reading.set()
        assert self.go_on.wait(10)
        return super().read_all()


async def test_a_request_during_the_first_read_waits_for_it() -> None:
    log = SlowCredentials()
    ring = KeyRing(MasterKey.generate())
    CredentialVault(log, ring).put("bill/SUB-1", SecretStr("the-subscriptions-key"))
    credentials = VaultCredentials(
        name_of=lambda owner: f"bill/{owner}", vault=lambda: CredentialVault(log, ring)
    )

    first = asyncio.create_task(credentials.held("SUB-1"))
    assert await asyncio.to_thread(log.reading.wait, 10)
    second = asyncio.create_task(credentials.held("SUB-1"))
    await asyncio.sleep(0)  # the second request is in, the read still under way
    log.go_on.set()

    held = await asyncio.gather(first, second)
    assert [h.get_secret_value() if h else None for h in held] == ["the-subscriptions-key"] * 2
