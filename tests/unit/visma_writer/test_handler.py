"""The Kafka-facing handler: decoding, and holding a company's commands while Visma refuses
its credentials, until the vault has a new secret (or `hold_seconds` pass)."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import SecretStr
from writer_harness import CREDENTIAL, Harness, command

from chassis.errors import PermanentError
from chassis.kafka.held import wait_for_release
from chassis.kafka.record import Held, Record
from visma_writer.handler import ApplyVismaActionHandler, MalformedCommandError

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

ID = "Invoice:000123"
OTHER = "Invoice:000124"
COMPANY = ("t1", "c1")


def record(value: dict[str, object]) -> Record:
    return Record(
        topic="sink.visma-writer.v1", partition=0, offset=7, key="k", raw=b"", headers=[],
        value=value,
    )  # fmt: skip


async def test_refused_credentials_hold_the_company_until_the_vault_has_a_new_secret(
    harness: Harness,
) -> None:
    harness.visma.add(ID, "Balanced")
    harness.visma.add(OTHER, "Balanced")
    harness.visma.accepted_secret = "second-client-secret-0002"  # the first was revoked
    handler = ApplyVismaActionHandler(
        harness.writer, credentials=harness.companies, audit=harness.audit.trail
    )
    with pytest.raises(Held) as first:
        await handler(record(command().to_record()))
    assert harness.audit.stages() == ["held"]
    asked = _token_requests(harness)
    with pytest.raises(Held):  # the company's other commands wait without asking Visma
        await handler(record(command(OTHER, command_id="cmd-2").to_record()))
    assert _token_requests(harness) == asked
    with pytest.raises(TimeoutError):  # the vault still has the refused secret
        await asyncio.wait_for(first.value.released(), timeout=0.1)

    harness.vault.put(CREDENTIAL, SecretStr("second-client-secret-0002"))  # mlc secrets set
    released = await wait_for_release(
        [record(command().to_record())], first.value, group="g", let_go=lambda: False
    )

    assert released
    await handler(record(command().to_record()))
    await handler(record(command(OTHER, command_id="cmd-2").to_record()))
    assert (harness.visma.count(ID), harness.visma.count(OTHER)) == (1, 1)
    assert harness.audit.stages() == ["held", "held", "sent", "sent"]
    await harness.companies.aclose()


async def test_a_secret_that_cannot_change_is_tried_again_after_hold_seconds() -> None:
    harness = Harness(hold_seconds=0.05)
    harness.visma.add(ID, "Balanced")
    harness.visma.refuse_tokens = 1  # refused once (say, the client was disabled), then taken
    handler = ApplyVismaActionHandler(
        harness.writer, credentials=harness.companies, audit=harness.audit.trail
    )
    with pytest.raises(Held) as held:
        await handler(record(command().to_record()))
    await asyncio.wait_for(held.value.released(), timeout=5)
    await handler(record(command().to_record()))
    assert harness.visma.count(ID) == 1
    await harness.companies.aclose()


async def test_a_refusal_of_the_secret_replaced_meanwhile_does_not_hold_the_new_one(
    harness: Harness,
) -> None:
    old = harness.companies.generation(COMPANY)
    harness.vault.put(CREDENTIAL, SecretStr("second-client-secret-0002"))
    held = harness.companies.refused(COMPANY, generation=old, error="invalid_client")
    assert harness.companies.held(COMPANY) is not None
    await asyncio.wait_for(held.released(), timeout=5)  # the re-read finds the new secret
    assert harness.companies.generation(COMPANY) == old + 1
    late = harness.companies.refused(COMPANY, generation=old, error="invalid_client")
    await asyncio.wait_for(late.released(), timeout=1)  # a call made with the old one
    assert harness.companies.held(COMPANY) is None
    await harness.companies.aclose()


def _token_requests(harness: Harness) -> int:
    return harness.visma.token_requests


async def test_a_value_that_is_not_a_command_is_permanent(harness: Harness) -> None:
    handler = ApplyVismaActionHandler(
        harness.writer, credentials=harness.companies, audit=harness.audit.trail
    )
    with pytest.raises(MalformedCommandError) as caught:
        await handler(record({"command_id": "x"}))
    assert isinstance(caught.value, PermanentError)
