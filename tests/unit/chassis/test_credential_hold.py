"""The chassis credential hold: one hold per holder, ended by its `replaced` check only."""

from __future__ import annotations

import asyncio

import pytest

from chassis.credential_hold import CredentialHolds
from chassis.vault import VaultUnavailable

pytestmark = pytest.mark.unit


class Check:
    """A `replaced` check the test answers; counts how often it was asked."""

    def __init__(self, *answers: bool | Exception) -> None:
        self.answers = list(answers)
        self.asked = 0

    async def __call__(self) -> bool:
        self.asked += 1
        answer = self.answers.pop(0) if self.answers else False
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_a_hold_ends_when_the_check_says_replaced_even_after_the_vault_failed() -> None:
    async def scenario() -> Check:
        holds = CredentialHolds(refresh_seconds=0.001)
        check = Check(False, VaultUnavailable("broker down"), True)
        first = holds.hold("acme", replaced=check)
        second = holds.hold("acme", replaced=Check(True))  # joins: no second watcher
        assert holds.is_held("acme")
        assert holds.held("other") is None
        await asyncio.wait_for(first.released(), timeout=5)
        await asyncio.wait_for(second.released(), timeout=5)
        assert not holds.is_held("acme")
        assert holds.held("acme") is None
        await holds.aclose()
        return check

    assert asyncio.run(scenario()).asked == 3


def test_without_a_check_only_a_restart_ends_the_hold() -> None:
    async def scenario() -> None:
        holds = CredentialHolds(refresh_seconds=0.001)
        held = holds.hold("env-token", replaced=None)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(held.released(), timeout=0.05)
        assert holds.held("env-token") is not None
        await asyncio.wait_for(CredentialHolds.released_at_once("x").released(), timeout=1)
        await holds.aclose()

    asyncio.run(scenario())


def test_a_hold_says_why_it_holds() -> None:
    async def scenario() -> tuple[str, str, str]:
        holds = CredentialHolds(refresh_seconds=60)
        refused = holds.hold("acme", replaced=None)
        spent = holds.hold("tenant-1", replaced=None, reason="monday daily call limit reached")
        later = holds.held("tenant-1")
        assert later is not None
        await holds.aclose()
        return str(refused), str(spent), str(later)

    refused, spent, later = asyncio.run(scenario())
    assert refused == "acme: credential refused"
    assert spent == later == "tenant-1: monday daily call limit reached"
